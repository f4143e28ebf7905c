import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { imageFolderSource } from "../../../compiler/lab/data/sources.js";
import { packShards } from "../../../compiler/lab/data/pack.js";
import { trainTorch } from "../../../compiler/lab/torch/engine.js";
import { trainNetwork } from "../../../compiler/lab/train/session.js";
import {
  fallbackTrainConfig,
  type Augment,
  type TrainConfig,
} from "../../../compiler/language/config/train.js";
import { inCI, needPython, python, pythonProblem } from "../../backends/torch/python.js";
import { mustBuild, runCli } from "../../helpers.js";
import { tempRoot } from "../../tempRoot.js";
import { writeImageFolder } from "../../imageFolder.js";

/**
 * --workers (issue 24): how many threads (embedded trainer) or DataLoader workers (torch engine)
 * load the data. A usage error when it is not a count; never a change in what a run computes.
 */
const problem = pythonProblem("torch, numpy, PIL");

const root = tempRoot("workers");

const spec = `network tiny(classes = 3) {
  input 10x10x3
  conv 3x3/2 4 -> bn -> relu
  gap
  dense classes softmax
}
train quick {
  batch 6
  epochs 1
  augment inception(scale = 0.5 .. 1)
}
`;
const graph = mustBuild(spec.slice(0, spec.indexOf("train quick")));
const config: TrainConfig = { ...fallbackTrainConfig, batch: 6, epochs: 2 };

const imageFolder = (dir: string) =>
  writeImageFolder(dir, {
    classes: 3,
    perClass: 8,
    size: () => [14, 14],
    pixel: (j, i, cls) => (j * (cls + 3) + i * 29) % 256,
    jpeg: (i) => i % 2 === 1,
  });

describe("--workers", () => {
  let images: string;
  let pack: string;
  beforeAll(async () => {
    await initBackend("wasm");
    images = await imageFolder(join(root, "images"));
    pack = join(root, "pack");
    await packShards(await imageFolderSource(images), "x", pack, { shardBytes: 4096, seed: 2 });
  });

  it("is a usage error (exit 2, naming the flag) when not a count, on train and sweep", async () => {
    const file = join(root, "tiny.arch");
    writeFileSync(file, spec);
    for (const bad of ["-1", "1.5", "two", ""]) {
      const t = await runCli("train", file, "--data", "synthetic:12", "--workers", bad);
      expect(t.code).toBe(2);
      expect(t.stderr).toContain(`--workers must be an integer of at least 0, not '${bad}'`);
      const s = await runCli(
        "sweep",
        file,
        "--sweep",
        "classes=3",
        "--measure",
        "train",
        "--data",
        "synthetic:12",
        "--workers",
        bad,
      );
      expect(s.code).toBe(2);
      expect(s.stderr).toContain("--workers must be");
    }
  });

  it("never changes the embedded trainer's run (0 threads or 3), and the manifest records it", async () => {
    const runs = [];
    for (const [data, workers] of [
      [pack, 0],
      [pack, 3],
      [images, 0],
      [images, 3],
    ] as const) {
      const outDir = join(root, `tfjs-${runs.length}`);
      const r = await trainNetwork({
        graph,
        config,
        data,
        outDir,
        seed: 4,
        workers,
        preciseBn: "off",
      });
      const manifest = JSON.parse(readFileSync(join(outDir, "manifest.json"), "utf8"));
      expect(manifest.runtime).toEqual({ workers });
      runs.push(r.history.map(({ loss, accuracy, valLoss }) => ({ loss, accuracy, valLoss })));
    }
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[3]).toEqual(runs[2]);
  }, 300_000);

  it.skipIf(problem !== undefined && !inCI)(
    "never changes the torch engine's run (DataLoader workers 0 and 2), with augmentation",
    async () => {
      needPython(problem, "python3-torch python3-pil");
      const augment: Augment = {
        kind: "inception",
        scale: [0.5, 1],
        ratio: [0.75, 4 / 3],
        flip: true,
      };
      for (const data of [images, "synthetic:30"]) {
        const runs = [];
        for (const workers of [0, 2]) {
          const outDir = join(root, `torch-${data.length}-${workers}`);
          const r = await trainTorch({
            graph,
            config: { ...config, augment },
            data,
            outDir,
            seed: 4,
            workers,
            python,
            threads: 1,
            preciseBn: "off",
          });
          runs.push({
            history: r.history.map(({ loss, accuracy, valLoss }) => ({ loss, accuracy, valLoss })),
            weights: readFileSync(join(outDir, "weights.safetensors")),
          });
        }
        expect(runs[1]!.history).toEqual(runs[0]!.history);
        expect(runs[1]!.weights.equals(runs[0]!.weights)).toBe(true);
      }
    },
    300_000,
  );
});
