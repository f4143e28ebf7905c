import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { rowIdentity, type ExperimentSettings } from "../../../compiler/lab/experiment/runner.js";
import { identityHash } from "../../../compiler/lab/run/identity.js";
import { evaluateRun } from "../../../compiler/lab/train/evaluateRun.js";
import { trainIdentity, trainNetwork } from "../../../compiler/lab/train/session.js";
import { inceptionDefaults } from "../../../compiler/language/config/augment.js";
import { fallbackTrainConfig, type TrainConfig } from "../../../compiler/language/config/train.js";
import { makeVariant } from "../../../compiler/language/variant.js";
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
const graph = mustBuild(spec);
const plain: TrainConfig = { ...fallbackTrainConfig, batch: 8, epochs: 2 };
const augmented: TrainConfig = { ...plain, augment: inceptionDefaults, evalCrop: 0.875 };

const epochs = (dir: string) =>
  readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { loss: number; valLoss: number });

/** The augmentation decides a run's numbers, so it is part of every identity of a run. */
describe("an augmented run", () => {
  it("has another identity than the same run without it, or with other ranges", () => {
    const run = (config: TrainConfig) =>
      identityHash(trainIdentity({ graph, config, data: "synthetic", outDir: "x" }));
    const narrower = { ...augmented, augment: { ...inceptionDefaults, scale: [0.5, 1] as const } };
    const hashes = [
      run(plain),
      run(augmented),
      run(narrower),
      run({ ...augmented, evalCrop: 0.9 }),
      run({ ...augmented, augment: { ...inceptionDefaults, flip: false } }),
    ];
    expect(new Set(hashes).size).toBe(hashes.length);
    // A sweep's cached rows: the same.
    const settings = { measures: ["train"], engine: "tfjs" } as unknown as ExperimentSettings;
    const row = (config: TrainConfig) =>
      identityHash(rowIdentity(makeVariant("n", []), { graph }, config, settings, 1));
    expect(new Set([row(plain), row(augmented), row(narrower)]).size).toBe(3);
  });

  it("resumed inside an epoch trains on the crops the uninterrupted run did", async () => {
    const dir = () => {
      const d = mkdtempSync(join(tmpdir(), "archc-augment-run-"));
      temps.push(d);
      return d;
    };
    const base = { graph, data: "synthetic:48", seed: 3, preciseBn: "off" as const };
    const whole = dir();
    const file = join(whole, "n.arch");
    writeFileSync(file, spec);
    await trainNetwork({
      ...base,
      config: augmented,
      outDir: whole,
      source: { file, network: "n" },
    });
    const resumed = dir();
    let steps = 0;
    const stopped = await trainNetwork({
      ...base,
      config: augmented,
      outDir: resumed,
      onStep: () => steps++,
      shouldStop: () => steps >= 8,
    });
    expect(stopped.stoppedAt).toMatchObject({ epoch: 2, batch: 2 });
    await trainNetwork({ ...base, config: augmented, outDir: resumed, resume: true });
    const unaugmented = dir();
    await trainNetwork({ ...base, config: plain, outDir: unaugmented });
    const [a, b, c] = [epochs(whole), epochs(resumed), epochs(unaugmented)];
    expect(b).toHaveLength(2);
    for (let e = 0; e < 2; e++) {
      expect(b[e]!.loss).toBeCloseTo(a[e]!.loss, 6);
      expect(b[e]!.valLoss).toBeCloseTo(a[e]!.valLoss, 6);
      expect(Math.abs(c[e]!.loss - a[e]!.loss)).toBeGreaterThan(1e-4);
    }
    // archc eval measures with the run's eval_crop, as its validation did.
    const measured = await evaluateRun(whole, graph, { split: "val", best: false });
    expect(measured.loss).toBeCloseTo(a[1]!.valLoss, 5);
  }, 120_000);
});
