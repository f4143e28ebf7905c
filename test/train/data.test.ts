import * as tf from "@tensorflow/tfjs";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../compiler/backends/tfjs/runtime.js";
import {
  DataError,
  fashionMnistDir,
  openDataset,
  type Dataset,
} from "../../compiler/train/data/index.js";
import { readIdx } from "../../compiler/train/data/idx.js";

beforeAll(async () => {
  await initBackend("wasm");
});

function idx(dims: number[], data: number[]): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt8(8, 2);
  head.writeUInt8(dims.length, 3);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(data)]);
}

function idxFixture(gz: boolean, labels = [0, 1, 2, 1, 0]): string {
  const dir = mkdtempSync(join(tmpdir(), "archc-idx-"));
  const n = labels.length;
  const imgs = idx(
    [n, 4, 4],
    Array.from({ length: n * 16 }, (_, i) => i % 256),
  );
  const labs = idx([n], labels);
  for (const split of ["train", "t10k"]) {
    writeFileSync(
      join(dir, `${split}-images-idx3-ubyte${gz ? ".gz" : ""}`),
      gz ? gzipSync(imgs) : imgs,
    );
    writeFileSync(
      join(dir, `${split}-labels-idx1-ubyte${gz ? ".gz" : ""}`),
      gz ? gzipSync(labs) : labs,
    );
  }
  return dir;
}

async function collect(d: Dataset, batch: number, epoch = 0, shuffle = true) {
  const xs: number[][] = [];
  const shapes: number[][] = [];
  for await (const b of d.batches(batch, { seed: 1, epoch, shuffle })) {
    shapes.push(b.x.shape);
    const arg = b.y.argMax(-1);
    xs.push(Array.from(await arg.data()));
    tf.dispose([b.x, b.y, arg]);
  }
  return { labels: xs.flat(), shapes };
}

describe("IDX files", () => {
  it("reads plain and gzipped files, batches them and one-hot encodes the labels", async () => {
    for (const gz of [false, true]) {
      const d = await openDataset(idxFixture(gz), { shape: [4, 4, 1], classes: 3, split: "train" });
      expect(d.size).toBe(5);
      const { labels, shapes } = await collect(d, 2, 0, false);
      expect(labels).toEqual([0, 1, 2, 1, 0]);
      expect(shapes).toEqual([
        [2, 4, 4, 1],
        [2, 4, 4, 1],
        [1, 4, 4, 1],
      ]);
    }
  });

  it("resizes and tiles to the network's input; --limit takes the first N", async () => {
    const d = await openDataset(idxFixture(true), {
      shape: [8, 8, 3],
      classes: 3,
      split: "val",
      limit: 3,
    });
    const { shapes } = await collect(d, 8);
    expect(shapes).toEqual([[3, 8, 8, 3]]);
  });

  it("bad files are errors that name the path", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-idx-"));
    writeFileSync(join(dir, "x"), Buffer.from([1, 2, 3, 4]));
    expect(() => readIdx(join(dir, "x"))).toThrow(/x: is not an IDX file/);
    writeFileSync(join(dir, "y"), idx([2, 2, 2], [1, 2, 3]));
    expect(() => readIdx(join(dir, "y"))).toThrow(
      /y: has 3 data bytes, but its header \[2, 2, 2\] says 8/,
    );
    const many = idxFixture(false, [0, 5, 1, 1, 0]);
    await expect(
      openDataset(many, { shape: [4, 4, 1], classes: 3, split: "train" }),
    ).rejects.toThrow(/labels up to 5, but the network has 3 outputs/);
  });
});

describe("image folders", () => {
  async function folder(): Promise<string> {
    const root = mkdtempSync(join(tmpdir(), "archc-img-"));
    for (const [cls, colour] of [
      ["cats", "#ff0000"],
      ["dogs", "#0000ff"],
    ] as const) {
      mkdirSync(join(root, cls));
      for (let i = 0; i < 5; i++) {
        const img = sharp({
          create: { width: 10 + i, height: 7, channels: 3, background: colour },
        });
        await (i % 2 ? img.png() : img.jpeg()).toFile(
          join(root, cls, `${i}.${i % 2 ? "png" : "jpg"}`),
        );
      }
    }
    return root;
  }

  it("decodes JPEG and PNG, resizes, labels by sorted class folder, holds out every tenth image", async () => {
    const root = await folder();
    const train = await openDataset(root, { shape: [6, 6, 3], classes: 2, split: "train" });
    const val = await openDataset(root, { shape: [6, 6, 3], classes: 2, split: "val" });
    expect(train.size + val.size).toBe(10);
    expect(val.size).toBe(1);
    const { labels, shapes } = await collect(train, 4, 0, false);
    expect(labels).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1]);
    expect(shapes[0]).toEqual([4, 6, 6, 3]);
    const gray = await openDataset(root, { shape: [5, 5, 1], classes: 2, split: "train" });
    expect((await collect(gray, 9)).shapes).toEqual([[9, 5, 5, 1]]);
  });

  it("an empty class and a corrupt image are errors naming the path, or skipped and counted", async () => {
    const root = await folder();
    writeFileSync(join(root, "cats", "bad.jpg"), "not a jpeg");
    const strict = await openDataset(root, { shape: [6, 6, 3], classes: 2, split: "train" });
    await expect(collect(strict, 32)).rejects.toThrow(/bad\.jpg: cannot be decoded as an image/);
    const lenient = await openDataset(root, {
      shape: [6, 6, 3],
      classes: 2,
      split: "train",
      skipCorrupt: true,
    });
    const { labels } = await collect(lenient, 32);
    expect(labels).toHaveLength(9);
    expect(lenient.skipped).toHaveLength(1);
    mkdirSync(join(root, "empty"));
    await expect(
      openDataset(root, { shape: [6, 6, 3], classes: 3, split: "train" }),
    ).rejects.toThrow(/empty: holds no JPEG or PNG images/);
    await expect(
      openDataset(root, { shape: [6, 6, 3], classes: 2, split: "train" }),
    ).rejects.toThrow(DataError);
  });
});

describe("synthetic data", () => {
  it("is deterministic per seed and epoch, shuffled differently per epoch, and frees its tensors", async () => {
    const d = await openDataset("synthetic:40", {
      shape: [4, 4, 1],
      classes: 4,
      split: "train",
      seed: 2,
    });
    const before = tf.memory().numTensors;
    const a = await collect(d, 8, 0);
    const b = await collect(d, 8, 0);
    const c = await collect(d, 8, 1);
    expect(a.labels).toEqual(b.labels);
    expect(c.labels).not.toEqual(a.labels);
    expect([...c.labels].sort()).toEqual([...a.labels].sort());
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("Fashion-MNIST from Debian's dataset-fashion-mnist", () => {
  const present = existsSync(fashionMnistDir);
  it("is installed where CI installs it", () => {
    // CI installs the package (.ci/run); elsewhere its absence is reported, not hidden.
    if (process.env["CI"])
      expect(present, `${fashionMnistDir} is missing: apt-get install dataset-fashion-mnist`).toBe(
        true,
      );
  });
  it.runIf(present)("loads 100 training images of 28x28x1 with labels 0-9", async () => {
    const d = await openDataset("fashion-mnist", {
      shape: [28, 28, 1],
      classes: 10,
      split: "train",
      limit: 100,
    });
    expect(d.size).toBe(100);
    const { labels, shapes } = await collect(d, 100);
    expect(shapes).toEqual([[100, 28, 28, 1]]);
    expect(Math.max(...labels)).toBeLessThanOrEqual(9);
    expect(new Set(labels).size).toBeGreaterThan(5);
  });
});
