import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { trainTorch } from "../../../compiler/lab/torch/engine.js";
import { fashionMnistDir } from "../../../compiler/lab/train/data/index.js";
import type { EpochMetrics } from "../../../compiler/lab/train/metrics.js";
import { fallbackTrainConfig } from "../../../compiler/language/config/train.js";
import { mustBuild } from "../../helpers.js";
import { inCI, needPython, python, pythonProblem } from "../../backends/torch/python.js";

/** The torch engine's numbers mean what the embedded trainer's do (issue 22). */
const problem = pythonProblem("torch, numpy");

const temps: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "archc-torch-honest-"));
  temps.push(d);
  return d;
};
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

const metrics = (dir: string): EpochMetrics[] =>
  readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as EpochMetrics);

describe.skipIf(problem !== undefined && !inCI)("the torch engine's numbers", () => {
  beforeAll(async () => {
    needPython(problem);
    await initBackend("wasm");
  });

  it("an epoch resumed from a checkpoint records its whole training time", async () => {
    const out = tempDir();
    const base = {
      graph: mustBuild(
        "network n(classes = 4) {\n  input 8x8x1\n  conv 3x3 4 -> bn -> relu\n  gap -> dense classes softmax\n}\n",
      ),
      config: { ...fallbackTrainConfig, batch: 8, epochs: 1 },
      data: "synthetic:2048",
      outDir: out,
      seed: 1,
      python,
    };
    // 256 steps; a stop asked at step 48 lands some steps later (the runner polls a file), and on
    // a quiet machine 64 steps ended before the poll did: leave it room.
    const seen: number[] = [];
    const stopped = await trainTorch({
      ...base,
      onStep: () => seen.push(performance.now()),
      shouldStop: () => seen.length >= 48,
    });
    expect(stopped.interrupted).toBe(true);
    const at = stopped.stoppedAt!;
    expect([at.epoch, at.batches]).toEqual([1, 256]);
    expect(at.step).toBe(at.batch);
    expect(at.step).toBeLessThan(256);
    const firstPart = (seen[at.step - 1]! - seen[0]!) / 1000;
    await trainTorch({ ...base, resume: true });
    const [m] = metrics(out);
    expect(m!.seconds).toBeGreaterThanOrEqual(firstPart);
    expect(m!.imagesPerSec * m!.seconds).toBeCloseTo(2048, 2);
    // The wait for batches is part of that time, summed over both runs as the time is.
    expect(m!.dataWaitSeconds).toBeGreaterThan(0);
    expect(m!.dataWaitSeconds).toBeLessThan(m!.seconds);
  }, 300_000);

  const fashion = existsSync(fashionMnistDir);
  it.skipIf(!fashion && !inCI)(
    "precise BN recovers a short Fashion-MNIST run's val accuracy, as in the embedded trainer",
    async () => {
      if (!fashion)
        throw new Error(`${fashionMnistDir} is missing: apt-get install dataset-fashion-mnist`);
      const graph = mustBuild(
        "network tiny(classes = 10) {\n  input 28x28x1\n  conv 3x3 8 -> bn -> relu\n  maxpool 2x2/2\n  conv 3x3 16 -> bn -> relu\n  gap -> dense classes softmax\n}\n",
      );
      const run = (preciseBn: "on" | "off") =>
        trainTorch({
          graph,
          config: {
            ...fallbackTrainConfig,
            optimizer: { kind: "sgd", lr: 0.05, momentum: 0.9, nesterov: false },
          },
          data: "fashion-mnist",
          limit: 1600,
          valLimit: 400,
          outDir: tempDir(),
          seed: 0,
          python,
          preciseBn,
        });
      const [off, on] = [await run("off"), await run("on")];
      const [before, after] = [off.history[0]!.valAccuracy!, on.history[0]!.valAccuracy!];
      console.log(`torch engine, precise BN, 50 steps: val accuracy ${before} -> ${after}`);
      expect(on.history[0]!.loss).toBeCloseTo(off.history[0]!.loss, 6);
      expect(before).toBeLessThan(0.3);
      expect(after - before).toBeGreaterThan(0.15);
    },
    300_000,
  );
});
