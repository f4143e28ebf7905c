import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import type { View } from "../../../compiler/lab/data/augment.js";
import { dataJob } from "../../../compiler/lab/torch/dataJob.js";
import { initialWeights, runnerPath, trainTorch } from "../../../compiler/lab/torch/engine.js";
import type { StepReport } from "../../../compiler/lab/train/metrics.js";
import { parseSafetensors } from "../../../compiler/backends/torch/safetensors.js";
import {
  fashionMnistDir,
  openDataset,
  type Dataset,
} from "../../../compiler/lab/train/data/index.js";
import { epochOrder } from "../../../compiler/lab/train/data/random.js";
import { fallbackTrainConfig } from "../../../compiler/language/config/train.js";
import { inCI, needPython, python, pythonProblem } from "../../backends/torch/python.js";
import { mustBuild } from "../../helpers.js";
import { idxBytes } from "../../idx.js";
import { tempRoot } from "../../tempRoot.js";
import { writeImageFolder } from "../../imageFolder.js";

/**
 * The torch engine reads every source a sample at a time (issue 24: no whole-set decode for any
 * source): an image folder's files, an IDX file's records, synthetic examples. Each gives the
 * runner the embedded loader's first batch, within decoding's rounding, with and without a
 * training view; and a run writes nothing the size of the data set in floats.
 */
const problem = pythonProblem("torch, numpy, PIL");

const root = tempRoot("torch-sources");

/**
 * An image folder of 3 classes, 7 images each: noisy RGB, 12x12 (or 20x20 from the fifth, where
 * `mixed`), PNG or JPEG (in turn, where `mixed`).
 */
const imageFolder = (dir: string, format: "png" | "mixed") =>
  writeImageFolder(dir, {
    classes: 3,
    perClass: 7,
    size: (i) => (i < 4 || format === "png" ? [12, 12] : [20, 20]),
    // Smooth, as photos are at this scale, with a little texture.
    pixel: (j, i, cls, side) => {
      const [y, x, ch] = [Math.floor(j / 3 / side), Math.floor(j / 3) % side, j % 3];
      const v = 40 + ((x * 120 + y * 60) / side) * (1 + ch / 4) + i * 9 + cls * 17;
      return Math.min(255, Math.round(v + ((j * 37) % 7)));
    },
    jpeg: (i) => format === "mixed" && i % 2 === 1,
    quality: 95,
  });

/** A gzipped IDX pair of n 10x10 images (smooth ramps) and labels i % 4. */
function idxFolder(dir: string, n: number): string {
  mkdirSync(dir);
  const write = (file: string, dims: number[], data: Uint8Array) => {
    writeFileSync(join(dir, file), gzipSync(idxBytes(dims, data)));
  };
  const px = new Uint8Array(n * 100).map((_, j) => ((j % 100) * 2 + Math.floor(j / 100) * 7) % 256);
  write("train-images-idx3-ubyte.gz", [n, 10, 10], px);
  write(
    "train-labels-idx1-ubyte.gz",
    [n],
    new Uint8Array(n).map((_, i) => i % 4),
  );
  return dir;
}

const augment: View = {
  kind: "augment",
  augment: { kind: "inception", scale: [0.3, 1], ratio: [3 / 4, 4 / 3], flip: true },
};

/** The embedded loader's first batch of epoch 0 (seed 3), with the view, as floats. */
async function embeddedFirst(data: Dataset, batch: number, view?: View) {
  for await (const b of data.batches(batch, {
    seed: 3,
    epoch: 0,
    shuffle: true,
    ...(view ? { view } : {}),
  })) {
    const x = Array.from((await b.x.data()) as Float32Array);
    const y = Array.from((await tf.argMax(b.y, -1).data()) as Int32Array);
    tf.dispose([b.x, b.y]);
    return { x, y };
  }
  throw new Error("no batch");
}

/** The runner's first batch of epoch 0 (seed 3), from the job the engine would write. */
async function runnerFirst(data: Dataset, batch: number, name: string, view?: View) {
  const dir = join(root, name);
  mkdirSync(dir);
  const spec = await dataJob(data, dir, "train");
  const order = epochOrder(data.size, 3, 0, true).slice(0, batch);
  const script = [
    "import json, sys, torch",
    `sys.path.insert(0, ${JSON.stringify(join(runnerPath, ".."))})`,
    "import runner",
    "spec, order, view = json.loads(sys.argv[1])",
    "d = runner.open_data(spec, {'workers': 2})",
    "(x, y, ids), = d.batches([order], torch.device('cpu'), runner.sample_view(view, 3, 0))",
    "sys.stdout.buffer.write(x.permute(0, 2, 3, 1).contiguous().numpy().tobytes())",
    "sys.stdout.buffer.write(y.to(torch.int32).numpy().tobytes())",
  ].join("\n");
  const out = execFileSync(python, ["-c", script, JSON.stringify([spec, order, view ?? null])], {
    maxBuffer: 1 << 26,
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
  });
  const n = (out.byteLength - 4 * batch) / 4;
  const x = Array.from(new Float32Array(out.buffer.slice(out.byteOffset, out.byteOffset + 4 * n)));
  const y = Array.from(
    new Int32Array(out.buffer.slice(out.byteOffset + 4 * n, out.byteOffset + out.byteLength)),
  );
  return { x, y };
}

function worst(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

function mean(a: number[], b: number[]): number {
  return a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length;
}

let seq = 0;
/** A 12x12 RGB network of 3 classes, small enough to train in a test. */
const smallRgbNet = () =>
  mustBuild(`network small(classes = 3) {
  input 12x12x3
  conv 3x3/2 4 -> relu
  gap
  dense classes softmax
}
`);

/** Makes `file` a JPEG that no decoder reads: its header, then nothing that makes sense. */
const damageJpeg = (file: string) =>
  writeFileSync(file, Buffer.from([0xff, 0xd8, 0xff, 0, 1, 2, 3]));

async function compare(data: Dataset, batch: number, view?: View) {
  const mine = await embeddedFirst(data, batch, view);
  const theirs = await runnerFirst(data, batch, `job-${seq++}`, view);
  expect(theirs.y).toEqual(mine.y);
  return { worst: worst(mine.x, theirs.x), mean: mean(mine.x, theirs.x) };
}

describe.skipIf(problem !== undefined && !inCI)(
  "the torch engine reads every source a sample at a time",
  () => {
    let images: string;
    let pngs: string;
    let idx: string;
    beforeAll(async () => {
      needPython(problem, "python3-torch python3-pil");
      await initBackend("wasm");
      images = await imageFolder(join(root, "images"), "mixed");
      pngs = await imageFolder(join(root, "pngs"), "png");
      idx = idxFolder(join(root, "idx"), 57);
    });

    it("synthetic data: the embedded loader's numbers exactly, with and without a crop", async () => {
      for (const shape of [
        [8, 8, 1],
        [6, 5, 3],
      ] as [number, number, number][]) {
        const data = await openDataset("synthetic:40", { shape, split: "train", seed: 4 });
        expect((await compare(data, 16)).worst).toBe(0);
        expect((await compare(data, 16, augment)).worst).toBeLessThan(1e-6);
      }
    }, 600_000);

    it("IDX records (gzipped), as they are, resized and repeated to RGB, and cropped", async () => {
      const same = await openDataset(`mnist:${idx}`, {
        shape: [10, 10, 1],
        split: "train",
        seed: 2,
      });
      expect((await compare(same, 20)).worst).toBe(0);
      const adapted = await openDataset(`mnist:${idx}`, {
        shape: [16, 14, 3],
        split: "train",
        seed: 2,
        adapt: { resize: true, repeatChannels: true },
      });
      // tfjs' bilinear in float32 against numpy's in float64: rounding only.
      expect((await compare(adapted, 20)).worst).toBeLessThan(1e-5);
      expect((await compare(adapted, 20, augment)).worst).toBeLessThan(1e-5);
      const val = await openDataset(`mnist:${idx}`, { shape: [10, 10, 1], split: "val", seed: 2 });
      expect((await compare(val, 5)).worst).toBe(0);
    }, 600_000);

    it.skipIf(!existsSync(fashionMnistDir))(
      "Fashion-MNIST's first batch, the same to the bit",
      async () => {
        const data = await openDataset("fashion-mnist", { shape: [28, 28, 1], split: "train" });
        expect((await compare(data, 64)).worst).toBe(0);
      },
      600_000,
    );

    it("an image folder's files: PNG to the bit, JPEG and stretched images within decode rounding", async () => {
      // PNG at the stored size (12x12): no resize, so the same numbers, also as gray.
      for (const c of [3, 1] as const) {
        const data = await openDataset(pngs, { shape: [12, 12, c], split: "train" });
        expect((await compare(data, 12)).worst).toBe(0);
      }
      // JPEG, and shrunk (20x20 to 12x12): libjpeg's IDCT and libvips' linear reduce against
      // PIL's bilinear (measured 0.10/255 on average; 2/255 allowed under Lanczos-3).
      const jpegs = await openDataset(images, { shape: [12, 12, 3], split: "train" });
      expect((await compare(jpegs, 18)).mean).toBeLessThan(0.5 / 255);
      // Enlarged (12x12 to 16x16): bilinear.ts is PIL's bilinear, so only the JPEG decoders'
      // rounding is left (measured: 0.085/255 on average, 2/255 at worst; 3.1/255 on average
      // under Lanczos-3, when 5/255 was allowed). The packs' decode_sample is the same arithmetic.
      const stretched = await openDataset(images, { shape: [16, 16, 3], split: "train" });
      for (const v of [undefined, augment]) {
        const { mean, worst } = await compare(stretched, 18, v);
        expect(mean).toBeLessThan(0.5 / 255);
        expect(worst).toBeLessThan(3 / 255);
      }
    }, 600_000);

    it("an image folder's damaged file: named, or skipped with --skip-corrupt", async () => {
      const broken = join(root, "broken");
      execFileSync("cp", ["-r", images, broken]);
      damageJpeg(join(broken, "c1", "3.jpg"));
      const graph = smallRgbNet();
      const base = {
        graph,
        config: { ...fallbackTrainConfig, batch: 6, epochs: 1 },
        data: broken,
        python,
        threads: 1,
        preciseBn: "off" as const,
      };
      await expect(trainTorch({ ...base, outDir: join(root, "broken-run") })).rejects.toThrow(
        /c1\/3\.jpg: cannot be decoded as an image .*--skip-corrupt/,
      );
      const r = await trainTorch({ ...base, outDir: join(root, "skip-run"), skipCorrupt: true });
      expect(r.skipped).toBe(1);
      expect(r.history).toHaveLength(1);
    }, 600_000);

    it("--skip-corrupt: a batch that lost a sample is the mean of those left, as in the embedded trainer", async () => {
      // One step over the whole train split, SGD: the update is lr times the batch's mean
      // gradient. The split with a damaged file skipped must train as the split without it;
      // counting the skipped file in the mean would make its step 20/21 as long.
      const split = (name: string, change: (dir: string) => void) => {
        const dir = join(root, name);
        mkdirSync(dir);
        for (const part of ["train", "val"]) execFileSync("cp", ["-r", images, join(dir, part)]);
        change(join(dir, "train"));
        return dir;
      };
      const damaged = split("lost-one", (d) => damageJpeg(join(d, "c1", "3.jpg")));
      const without = split("without-it", (d) => rmSync(join(d, "c1", "3.jpg")));
      const graph = smallRgbNet();
      const train = async (data: string, batch: number, onStep?: (s: StepReport) => void) => {
        const outDir = join(root, `${data.split("/").pop()}-${batch}-run`);
        await trainTorch({
          graph,
          config: {
            ...fallbackTrainConfig,
            optimizer: { kind: "sgd", lr: 0.5, momentum: 0, nesterov: false },
            batch,
            epochs: 1,
          },
          data,
          outDir,
          python,
          threads: 1,
          preciseBn: "off",
          skipCorrupt: true,
          seed: 7,
          ...(onStep ? { onStep } : {}),
        });
        return parseSafetensors(readFileSync(join(outDir, "weights.safetensors"))).tensors;
      };
      const a = await train(damaged, 21);
      const b = await train(without, 20);
      const initial = parseSafetensors(initialWeights(graph, 7)).tensors;
      // A copy: the tensors' bytes are views into the file's buffer, at any offset.
      const floats = (t: { bytes: Uint8Array }) => new Float32Array(new Uint8Array(t.bytes).buffer);
      let moved = 0;
      let apart = 0;
      for (const [name, t] of b) {
        const [x, y, w0] = [floats(a.get(name)!), floats(t), floats(initial.get(name)!)];
        for (let i = 0; i < y.length; i++) {
          moved = Math.max(moved, Math.abs(y[i]! - w0[i]!));
          apart = Math.max(apart, Math.abs(x[i]! - y[i]!));
        }
      }
      expect(moved).toBeGreaterThan(1e-3);
      // The same samples summed in another order: float32 rounding only.
      expect(apart).toBeLessThan(moved * 1e-3);

      // Batches of one: the damaged file's batch is empty, and left out as the embedded trainer
      // leaves it: no step (which momentum and weight decay would still move the weights by).
      const steps: number[] = [];
      await train(damaged, 1, (r) => steps.push(r.step));
      expect(steps).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    }, 600_000);

    it("writes nothing the size of the data set in floats to its work folder", async () => {
      const graph = mustBuild(`network small(classes = 4) {
  input 16x16x3
  conv 3x3/2 4 -> relu
  gap
  dense classes softmax
}
`);
      const scratch = join(root, "tmp");
      mkdirSync(scratch);
      const seen = new Map<string, number>();
      const look = () => {
        for (const d of readdirSync(scratch))
          for (const f of readdirSync(join(scratch, d)))
            seen.set(f, Math.max(seen.get(f) ?? 0, statSync(join(scratch, d, f)).size));
      };
      const before = process.env["TMPDIR"];
      process.env["TMPDIR"] = scratch;
      try {
        for (const data of [`mnist:${idx}`, images]) {
          await trainTorch({
            graph,
            config: { ...fallbackTrainConfig, batch: 8, epochs: 1 },
            data,
            outDir: join(root, `run-${seen.size}`),
            python,
            threads: 1,
            preciseBn: "off",
            adapt: { resize: true, repeatChannels: true },
            onStep: look,
          });
        }
      } finally {
        if (before === undefined) delete process.env["TMPDIR"];
        else process.env["TMPDIR"] = before;
      }
      expect(seen.size).toBeGreaterThan(0);
      // The smallest float copy would be the validation split's: 6 IDX records x 16 x 16 x 3 x 4.
      const floats = 6 * 16 * 16 * 3 * 4;
      for (const [f, size] of seen) expect(size, f).toBeLessThan(floats);
    }, 600_000);
  },
);
