import * as tf from "@tensorflow/tfjs";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { DataError, type Batch, type Dataset, type EpochOptions } from "./dataset.js";
import { epochOrder } from "./random.js";

interface IdxArray {
  readonly dims: number[];
  readonly data: Uint8Array;
}

/** Reads an IDX file (the MNIST format), gzipped or not: unsigned bytes, big-endian sizes. */
export function readIdx(path: string): IdxArray {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch {
    throw new DataError("cannot read the file", path);
  }
  if (buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch {
      throw new DataError("is gzipped but does not decompress", path);
    }
  }
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0)
    throw new DataError(
      "is not an IDX file (its magic number should start with two zero bytes)",
      path,
    );
  if (buf[2] !== 0x08)
    throw new DataError(
      `holds type 0x${buf[2]!.toString(16)}; archc reads unsigned-byte IDX files (0x08)`,
      path,
    );
  const rank = buf[3]!;
  if (buf.length < 4 + 4 * rank) throw new DataError("is cut short in its header", path);
  const dims = Array.from({ length: rank }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * rank;
  if (buf.length - start !== count) {
    throw new DataError(
      `has ${buf.length - start} data bytes, but its header [${dims.join(", ")}] says ${count}`,
      path,
    );
  }
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + start, count) };
}

export interface IdxFiles {
  readonly images: string;
  readonly labels: string;
}

/** Finds the usual names (train-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz], ...). */
export function findIdxFiles(dir: string, split: "train" | "test"): IdxFiles | undefined {
  const prefix = split === "train" ? "train" : "t10k";
  const find = (kind: string) =>
    [`${prefix}-${kind}`, `${prefix}-${kind}.gz`]
      .map((n) => join(dir, n))
      .find((p) => existsSync(p));
  const images = find("images-idx3-ubyte");
  const labels = find("labels-idx1-ubyte");
  return images && labels ? { images, labels } : undefined;
}

export interface IdxOptions {
  readonly shape: readonly [number, number, number];
  readonly classes: number;
  readonly limit?: number;
  readonly name?: string;
}

/**
 * An IDX image/label pair as a dataset. The images are small (28x28x1), so they are held in
 * memory; a network with another input size gets them resized, and tiled to 3 channels.
 */
export function idxDataset(files: IdxFiles, o: IdxOptions): Dataset {
  const images = readIdx(files.images);
  const labels = readIdx(files.labels);
  if (images.dims.length !== 3)
    throw new DataError(
      `holds an array of rank ${images.dims.length}; images need [count, rows, columns]`,
      files.images,
    );
  if (labels.dims.length !== 1)
    throw new DataError(
      `holds an array of rank ${labels.dims.length}; labels need [count]`,
      files.labels,
    );
  const [n, h, w] = images.dims as [number, number, number];
  if (labels.dims[0] !== n)
    throw new DataError(
      `has ${labels.dims[0]} labels for ${n} images in ${files.images}`,
      files.labels,
    );
  let classes = 0;
  for (const l of labels.data) classes = Math.max(classes, l + 1);
  if (classes > o.classes) {
    throw new DataError(
      `has labels up to ${classes - 1}, but the network has ${o.classes} outputs`,
      files.labels,
    );
  }
  const size = Math.min(n, o.limit ?? n);
  const [th, tw, tc] = o.shape;
  if (tc !== 1 && tc !== 3)
    throw new DataError(
      `the network takes ${tc} channels; IDX images have 1 (archc can also tile them to 3)`,
      files.images,
    );
  return {
    name: o.name ?? files.images,
    size,
    classes: o.classes,
    shape: o.shape,
    async *batches(batchSize: number, e: EpochOptions): AsyncIterable<Batch> {
      const order = epochOrder(size, e.seed, e.epoch, e.shuffle);
      for (let i = 0; i < size; i += batchSize) {
        const idx = order.slice(i, i + batchSize);
        const pixels = new Float32Array(idx.length * h * w);
        const ys = new Int32Array(idx.length);
        idx.forEach((k, j) => {
          const src = images.data.subarray(k * h * w, (k + 1) * h * w);
          for (let p = 0; p < h * w; p++) pixels[j * h * w + p] = src[p]! / 255;
          ys[j] = labels.data[k]!;
        });
        yield tf.tidy(() => {
          let x = tf.tensor4d(pixels, [idx.length, h, w, 1]);
          if (th !== h || tw !== w) x = tf.image.resizeBilinear(x, [th, tw]);
          if (tc === 3) x = tf.tile(x, [1, 1, 1, 3]);
          return { x, y: tf.oneHot(tf.tensor1d(ys, "int32"), o.classes).toFloat() as tf.Tensor2D };
        });
      }
    },
  };
}
