import { readFileSync } from "node:fs";
import { join } from "node:path";
import { inCI, needPython, python, pythonProblem } from "../../backends/torch/python.js";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { packShards } from "../../../compiler/lab/data/pack.js";
import { imageFolderSource } from "../../../compiler/lab/data/sources.js";
import { trainTorch } from "../../../compiler/lab/torch/engine.js";
import { trainNetwork } from "../../../compiler/lab/train/session.js";
import { inceptionDefaults } from "../../../compiler/language/config/augment.js";
import { fallbackTrainConfig } from "../../../compiler/language/config/train.js";
import { mustBuild } from "../../helpers.js";
import { tempRoot } from "../../tempRoot.js";
import { writeImageFolder } from "../../imageFolder.js";

/**
 * An augmented run (issue 24.3) trains on the same crops in both engines: the same starting
 * weights and the same augmented batches give the same epoch loss, and the same centre crop the
 * same validation loss.
 */
const problem = pythonProblem("torch, PIL");

const root = tempRoot("torch-augment");

const graph = mustBuild(`network small(classes = 2) {
  input 8x8x3
  conv 3x3/2 8 -> bn -> relu
  gap
  dense classes softmax
}
`);
const augmented = {
  ...fallbackTrainConfig,
  batch: 6,
  epochs: 1,
  augment: inceptionDefaults,
  evalCrop: 0.875,
};

/** 2 classes of 10 PNGs (lossless: both engines decode the same bytes), 20x14 and 11x17. */
const imageFolder = (dir: string) =>
  writeImageFolder(dir, {
    classes: 2,
    perClass: 10,
    size: (i) => (i % 2 ? [20, 14] : [11, 17]),
    pixel: (j, i, cls) => (j * (cls ? 37 : 11) + i * 101) % 256,
  });

const metrics = (dir: string) =>
  readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { loss: number; valLoss: number });

describe.skipIf(problem !== undefined && !inCI)("augmentation in both engines", () => {
  let pack: string;
  beforeAll(async () => {
    needPython(problem);
    await initBackend("wasm");
    pack = join(root, "pack");
    await packShards(await imageFolderSource(await imageFolder(join(root, "images"))), "x", pack, {
      shardBytes: 4 * 1024,
      seed: 3,
    });
  });

  it("gives the same epoch and validation loss in the embedded trainer and the torch engine", async () => {
    const base = { graph, data: pack, seed: 5, preciseBn: "off" as const };
    const tfjsOut = join(root, "tfjs");
    const torchOut = join(root, "torch");
    const plainOut = join(root, "plain");
    await trainNetwork({ ...base, config: augmented, outDir: tfjsOut });
    await trainTorch({
      ...base,
      config: augmented,
      outDir: torchOut,
      python,
      threads: 1,
      workers: 1,
    });
    await trainTorch({
      ...base,
      config: { ...fallbackTrainConfig, batch: 6, epochs: 1 },
      outDir: plainOut,
      python,
      threads: 1,
      workers: 1,
    });
    const [a] = metrics(tfjsOut);
    const [b] = metrics(torchOut);
    const [plain] = metrics(plainOut);
    expect(Math.abs(a!.loss - b!.loss)).toBeLessThan(1e-3);
    expect(Math.abs(a!.valLoss - b!.valLoss)).toBeLessThan(1e-3);
    // The runner did crop: without augmentation the same run sees other pixels.
    expect(Math.abs(plain!.loss - b!.loss)).toBeGreaterThan(1e-4);
    expect(Math.abs(plain!.valLoss - b!.valLoss)).toBeGreaterThan(1e-4);
  }, 300_000);
});
