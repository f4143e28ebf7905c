import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { fallbackTrainConfig } from "../../../compiler/language/config/train.js";
import { trainNetwork } from "../../../compiler/lab/train/session.js";
import type { EpochMetrics } from "../../../compiler/lab/train/metrics.js";
import { mustBuild } from "../../helpers.js";

const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
beforeAll(async () => {
  await initBackend("wasm");
});

const spec =
  "network n(classes = 4) {\n  input 8x8x1\n  conv 3x3 4 -> bn -> relu\n  gap -> dense classes softmax\n}\n";

/**
 * An epoch stopped late and resumed: its metrics must count the time of every step that trained
 * it, so images per second is the epoch's, not all its images over the last few steps' time.
 */
describe("an epoch resumed from a checkpoint", () => {
  it("records the epoch's whole training time and the throughput of its steps", async () => {
    const out = mkdtempSync(join(tmpdir(), "archc-resumed-"));
    temps.push(out);
    const base = {
      graph: mustBuild(spec),
      config: { ...fallbackTrainConfig, batch: 8, epochs: 1 },
      data: "synthetic:256",
      outDir: out,
      seed: 1,
    };
    // 32 steps; stop after 28, so the resumed run trains only the last 4.
    const seen: number[] = [];
    const stopped = await trainNetwork({
      ...base,
      onStep: () => seen.push(performance.now()),
      shouldStop: () => seen.length >= 28,
    });
    expect(stopped.interrupted).toBe(true);
    expect(stopped.stoppedAt).toEqual({ epoch: 1, batch: 28, batches: 32, step: 28 });
    const firstPart = (seen[27]! - seen[0]!) / 1000;
    await trainNetwork({ ...base, resume: true });
    const [m] = readFileSync(join(out, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as EpochMetrics);
    expect(m!.seconds).toBeGreaterThanOrEqual(firstPart);
    expect(m!.imagesPerSec * m!.seconds).toBeCloseTo(256, 3);
  }, 120_000);
});
