import { inCI, needPython, python, pythonProblem } from "../../backends/torch/python.js";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import {
  cropBox,
  cropResize,
  type Box,
  type SampleView,
  type View,
} from "../../../compiler/lab/data/augment.js";
import { packShards } from "../../../compiler/lab/data/pack.js";
import { imageFolderSource } from "../../../compiler/lab/data/sources.js";
import type { ShardDataset } from "../../../compiler/lab/data/shardDataset.js";
import { dataJob } from "../../../compiler/lab/torch/dataJob.js";
import { runnerPath } from "../../../compiler/lab/torch/engine.js";
import {
  openDataset,
  type Dataset,
  type EpochOptions,
} from "../../../compiler/lab/train/data/index.js";
import { inceptionDefaults } from "../../../compiler/language/config/augment.js";
import { tempRoot } from "../../tempRoot.js";
import { writeImageFolder } from "../../imageFolder.js";

/**
 * The train config's augmentation (issue 24.3): a sample's crop and flip are a function of
 * (seed, epoch, sample) computed by one algorithm in each language (augment.ts, runner.py), so
 * the embedded trainer and the torch engine see the same augmented batches, a resumed epoch the
 * same crops as an uninterrupted one, and evaluation the same centre crop every time.
 */
const problem = pythonProblem("torch, PIL");

const root = tempRoot("augment");

const augment: View = { kind: "augment", augment: inceptionDefaults };
const centre: View = { kind: "centre", fraction: 0.875 };

/** runner.py's functions, called by a script on stdin's JSON; its stdout is returned. */
function runner(script: string[], input: unknown): Buffer {
  return execFileSync(
    python,
    [
      "-c",
      [
        "import json, sys, numpy as np, torch",
        `sys.path.insert(0, ${JSON.stringify(join(runnerPath, ".."))})`,
        "import runner",
        "job = json.loads(sys.stdin.read())",
        ...script,
      ].join("\n"),
    ],
    {
      input: JSON.stringify(input),
      maxBuffer: 1 << 26,
      // Importing runner.py must not leave a __pycache__ in the package.
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
    },
  );
}

const floats = (b: Buffer) => new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);

/** Every batch of an epoch, as flat arrays. */
async function epoch(data: Dataset, batch: number, e: EpochOptions): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for await (const b of data.batches(batch, e)) {
    out.push((await b.x.data()) as Float32Array);
    tf.dispose([b.x, b.y]);
  }
  return out;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
};

/** An image folder of 2 classes, 6 images each, of several sizes; PNG and JPEG alternately. */
const imageFolder = (dir: string) =>
  writeImageFolder(dir, {
    classes: 2,
    perClass: 6,
    size: (i) =>
      (
        [
          [24, 16],
          [13, 21],
          [16, 16],
        ] as const
      )[i % 3]!,
    pixel: (j, i, cls) => (j * 37 + i * 101 + cls * 53) % 256,
    jpeg: (i) => i % 2 === 1,
    quality: 90,
  });

describe("the crop of a sample", () => {
  const view = (seed: number, epoch: number): SampleView => ({ ...augment, seed, epoch });

  it("follows torchvision's RandomResizedCrop: inside the image, scale and ratio in range", () => {
    let flips = 0;
    let fallbacks = 0;
    for (let s = 0; s < 2000; s++) {
      const [H, W] = [30 + (s % 7), 40 - (s % 5)];
      const b = cropBox(view(3, 1), s, H, W, 8, 8);
      expect(b.top).toBeGreaterThanOrEqual(0);
      expect(b.left).toBeGreaterThanOrEqual(0);
      expect(b.top + b.h).toBeLessThanOrEqual(H);
      expect(b.left + b.w).toBeLessThanOrEqual(W);
      const area = (b.h * b.w) / (H * W);
      // Rounding the sides to whole pixels moves the area and the ratio a little.
      expect(area).toBeGreaterThan(0.08 * 0.7);
      expect(b.w / b.h).toBeGreaterThan((3 / 4) * 0.7);
      expect(b.w / b.h).toBeLessThan(4 / 3 / 0.7);
      if (b.h === H && b.w === W) fallbacks++;
      if (b.flip) flips++;
    }
    expect(flips / 2000).toBeGreaterThan(0.45);
    expect(flips / 2000).toBeLessThan(0.55);
    expect(fallbacks).toBeLessThan(100);
    // An image too narrow for any ratio in range: the centre crop clamped to the ratio.
    const narrow = cropBox(
      { ...augment, augment: { ...inceptionDefaults, scale: [0.99, 1] }, seed: 1, epoch: 0 },
      0,
      100,
      10,
      8,
      8,
    );
    expect(narrow).toMatchObject({ top: 43, left: 0, h: 13, w: 10 });
  });

  it("depends on the seed, the epoch and the sample, and on nothing else", () => {
    const boxes = (seed: number, epoch: number) =>
      Array.from({ length: 50 }, (_, s) => cropBox(view(seed, epoch), s, 64, 48, 8, 8));
    expect(boxes(1, 0)).toEqual(boxes(1, 0));
    expect(boxes(1, 0)).not.toEqual(boxes(2, 0));
    expect(boxes(1, 0)).not.toEqual(boxes(1, 1));
    const one: Box = cropBox(view(1, 0), 7, 64, 48, 8, 8);
    expect(boxes(1, 0)[7]).toEqual(one);
  });

  it("for evaluation is the centred box of the output's aspect ratio, by the fraction", () => {
    expect(cropBox({ kind: "centre", fraction: 0.875 }, 0, 342, 400, 299, 299)).toEqual({
      top: 21,
      left: 50,
      h: 299,
      w: 299,
      flip: false,
    });
    expect(cropBox({ kind: "centre", fraction: 1 }, 5, 28, 28, 28, 28)).toEqual({
      top: 0,
      left: 0,
      h: 28,
      w: 28,
      flip: false,
    });
  });

  it("resizes bilinearly with half-pixel centres; a box of the output's size is copied", () => {
    const src = Float64Array.from({ length: 6 * 5 * 2 }, (_, i) => (i * 7) % 11);
    const same = cropResize(src, 5, 2, { top: 1, left: 2, h: 3, w: 2, flip: false }, 3, 2);
    expect(Array.from(same)).toEqual([
      ...src.slice((1 * 5 + 2) * 2, (1 * 5 + 4) * 2),
      ...src.slice((2 * 5 + 2) * 2, (2 * 5 + 4) * 2),
      ...src.slice((3 * 5 + 2) * 2, (3 * 5 + 4) * 2),
    ]);
    // 2 -> 4 along a row: samples at -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
    const row = cropResize([0, 8], 2, 1, { top: 0, left: 0, h: 1, w: 2, flip: false }, 1, 4);
    expect(Array.from(row)).toEqual([0, 2, 6, 8]);
    const flipped = cropResize([0, 8], 2, 1, { top: 0, left: 0, h: 1, w: 2, flip: true }, 1, 4);
    expect(Array.from(flipped)).toEqual([8, 6, 2, 0]);
  });

  it.skipIf(problem !== undefined && !inCI)(
    "is the same in runner.py: the same boxes, and the same pixels within float32 rounding",
    () => {
      needPython(problem, "python3-torch python3-pil");
      const cases: {
        view: SampleView;
        sample: number;
        H: number;
        W: number;
        oh: number;
        ow: number;
      }[] = [];
      for (let s = 0; s < 300; s++)
        cases.push({
          view:
            s % 10 === 9
              ? { kind: "centre", fraction: 0.5 + (s % 5) / 10 }
              : {
                  ...augment,
                  augment: {
                    ...inceptionDefaults,
                    scale: [0.08 + (s % 3) / 10, 1],
                    flip: s % 4 !== 0,
                  },
                  seed: s % 3 === 0 ? 2 ** 40 + s : s,
                  epoch: s % 7,
                },
          sample: s * 31,
          H: 7 + (s % 50),
          W: 9 + ((s * 3) % 40),
          oh: 5 + (s % 9),
          ow: 6 + (s % 4),
        });
      const ours = cases.map((c) => cropBox(c.view, c.sample, c.H, c.W, c.oh, c.ow));
      // The pixels: the box of a 3-channel image for the first cases, resized.
      const images = cases.slice(0, 60).map((c, k) => ({
        ...c,
        box: ours[k]!,
        px: Array.from({ length: c.H * c.W * 3 }, (_, i) => (i * 97 + k * 13) % 256),
      }));
      const out = runner(
        [
          "boxes = [list(runner.crop_box(c['view'], c['sample'], c['H'], c['W'], c['oh'], c['ow'])) for c in job['cases']]",
          "res = [runner.crop_resize(np.array(c['px'], dtype=np.uint8).reshape(c['H'], c['W'], 3), tuple(c['box'][k] for k in ('top', 'left', 'h', 'w', 'flip')), c['oh'], c['ow']) for c in job['images']]",
          "sys.stdout.buffer.write(json.dumps(boxes).encode() + b'\\n')",
          "sys.stdout.buffer.write(np.concatenate([r.reshape(-1) for r in res]).astype(np.float32).tobytes())",
        ],
        { cases, images },
      );
      const nl = out.indexOf(10);
      const theirs = JSON.parse(out.subarray(0, nl).toString()) as [
        number,
        number,
        number,
        number,
        boolean,
      ][];
      expect(theirs.map(([top, left, h, w, flip]) => ({ top, left, h, w, flip }))).toEqual(ours);
      const pixels = Buffer.from(out.subarray(nl + 1));
      const mine = images.flatMap((c) => Array.from(cropResize(c.px, c.W, 3, c.box, c.oh, c.ow)));
      expect(maxDiff(floats(pixels), mine)).toBeLessThan(1e-3);
    },
    60_000,
  );
});

describe("augmented batches in both engines", () => {
  let pack: string;
  beforeAll(async () => {
    await initBackend("wasm");
    pack = join(root, "pack");
    await packShards(await imageFolderSource(await imageFolder(join(root, "images"))), "x", pack, {
      shardBytes: 4 * 1024,
      seed: 5,
    });
  });

  it("a pack: seeded by (seed, epoch, sample); resumed epochs crop alike; evaluation is fixed", async () => {
    const data = await openDataset(pack, { shape: [8, 8, 3], split: "train", seed: 1 });
    const e = { seed: 4, epoch: 1, shuffle: true, view: augment } as const;
    const all = await epoch(data, 3, e);
    expect(await epoch(data, 3, { ...e, from: 2 })).toEqual(all.slice(2));
    expect(await epoch(data, 3, { ...e, seed: 5 })).not.toEqual(all);
    const plain = await epoch(data, 3, { seed: 4, epoch: 1, shuffle: true });
    expect(plain).not.toEqual(all);
    const val = { seed: 0, epoch: 0, shuffle: false, view: centre } as const;
    const evaluated = await epoch(data, 4, val);
    expect(await epoch(data, 4, val)).toEqual(evaluated);
  });

  it("a source read at the input's size (synthetic): crops of that image, resumed alike", async () => {
    const data = await openDataset("synthetic:40", { shape: [8, 8, 3], split: "train", seed: 1 });
    const e = { seed: 4, epoch: 0, shuffle: true, view: augment } as const;
    const all = await epoch(data, 6, e);
    // It does not seek: the loop reads the batches a resumed run has done, and drops them.
    expect(data.seeks).toBeFalsy();
    expect((await epoch(data, 6, { ...e, from: 3 })).slice(3)).toEqual(all.slice(3));
    expect(await epoch(data, 6, { ...e, epoch: 1 })).not.toEqual(all);
    const plain = await epoch(data, 6, { seed: 0, epoch: 0, shuffle: false });
    const full = await epoch(data, 6, {
      seed: 0,
      epoch: 0,
      shuffle: false,
      view: { kind: "centre", fraction: 1 },
    });
    expect(full).toEqual(plain);
  });

  it.skipIf(problem !== undefined && !inCI)(
    "the torch runner's first augmented batch is the embedded trainer's, within decoding's rounding",
    async () => {
      needPython(problem, "python3-torch python3-pil");
      const ours: Float32Array[] = [];
      const specs: unknown[] = [];
      for (const c of [3, 1] as const) {
        const data = (await openDataset(pack, {
          shape: [8, 8, c],
          split: "train",
          seed: 1,
        })) as ShardDataset;
        expect(data.size).toBeGreaterThan(10);
        const [first] = await epoch(data, 10, { seed: 9, epoch: 2, shuffle: true, view: augment });
        const [centred] = await epoch(data, 10, {
          seed: 0,
          epoch: 0,
          shuffle: false,
          view: centre,
        });
        ours.push(first!, centred!);
        const indices = join(root, `indices-${c}`);
        writeFileSync(indices, Buffer.from(Uint32Array.from(data.shards.indices).buffer));
        specs.push({ dir: pack, split: data.shards.split, indices, shape: [8, 8, c] });
      }
      // A source the runner makes sample by sample (runner.py's SynthData, from the job the
      // engine writes), which it crops as withViews does.
      const synthetic = await openDataset("synthetic:30", {
        shape: [8, 8, 3],
        split: "train",
        seed: 1,
      });
      const [cropped] = await epoch(synthetic, 10, {
        seed: 9,
        epoch: 2,
        shuffle: true,
        view: augment,
      });
      ours.push(cropped!);
      const data = await dataJob(synthetic, root, "synthetic");
      const out = runner(
        [
          "for spec in job['specs']:",
          "    d = runner.ShardData(spec, 2)",
          "    order = runner.epoch_order(d.n, 9, 2, True)[:10]",
          "    (x, _, _), = d.batches([order], torch.device('cpu'), runner.sample_view(job['augment'], 9, 2))",
          "    (e, _, _), = d.batches([range(10)], torch.device('cpu'), job['centre'])",
          "    for t in (x, e): sys.stdout.buffer.write(t.permute(0, 2, 3, 1).contiguous().numpy().tobytes())",
          "d = runner.open_data(job['data'], {'workers': 0})",
          "(x, _, _), = d.batches([runner.epoch_order(30, 9, 2, True)[:10]], torch.device('cpu'), runner.sample_view(job['augment'], 9, 2))",
          "sys.stdout.buffer.write(x.permute(0, 2, 3, 1).contiguous().numpy().tobytes())",
        ],
        { specs, augment, centre, data },
      );
      const theirs = floats(out);
      expect(theirs.length).toBe(ours.reduce((n, a) => n + a.length, 0));
      let at = 0;
      for (const mine of ours) {
        // JPEG decoders may round differently; PNG samples differ by float32 rounding alone.
        expect(maxDiff(theirs.subarray(at, at + mine.length), mine)).toBeLessThanOrEqual(2 / 255);
        at += mine.length;
      }
    },
    120_000,
  );
});
