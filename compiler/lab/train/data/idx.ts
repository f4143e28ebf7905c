import * as tf from "@tensorflow/tfjs";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import {
  checkBatchSize,
  checkChannels,
  checkLimit,
  DataError,
  toBatch,
  type Batch,
  type Dataset,
  type EpochOptions,
} from "./dataset.js";
import { adaptationFor, type InputAdaptation } from "./adapt.js";
import { epochOrder } from "./random.js";

/** The IDX element types: the third byte of the magic number. */
const dtypes = {
  0x08: { name: "uint8", bytes: 1 },
  0x09: { name: "int8", bytes: 1 },
  0x0b: { name: "int16", bytes: 2 },
  0x0c: { name: "int32", bytes: 4 },
  0x0d: { name: "float32", bytes: 4 },
  0x0e: { name: "float64", bytes: 8 },
} as const;

type DtypeCode = keyof typeof dtypes;
export type IdxDtype = (typeof dtypes)[DtypeCode]["name"];

export interface IdxArray {
  readonly path: string;
  readonly dtype: IdxDtype;
  readonly dims: number[];
  readonly data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

/**
 * Reads an IDX file (the MNIST format): magic 00 00 TYPE RANK, RANK big-endian uint32 sizes,
 * then the elements, big-endian. Gzipped files (magic 1f 8b) are unpacked first, whatever
 * their name, so a renamed `.gz` still reads.
 */
export function readIdx(path: string): IdxArray {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new DataError(`cannot read the file (${(e as NodeJS.ErrnoException).code ?? e})`, path);
  }
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (e) {
      throw new DataError(`is gzipped but does not unpack (${(e as Error).message})`, path);
    }
  }
  return parseIdx(buf, path);
}

/** Parses an unpacked IDX buffer; `path` only names it in errors. */
export function parseIdx(buf: Buffer, path: string): IdxArray {
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) {
    const head = [...buf.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new DataError(
      `is not an IDX file: its magic number is ${head || "missing"}, expected 00 00 TYPE RANK`,
      path,
    );
  }
  const dtype = dtypes[buf[2]! as DtypeCode];
  if (!dtype)
    throw new DataError(
      `has IDX type 0x${buf[2]!.toString(16).padStart(2, "0")}, expected one of 08 (uint8), ` +
        `09 (int8), 0b (int16), 0c (int32), 0d (float32), 0e (float64)`,
      path,
    );
  const rank = buf[3]!;
  const start = 4 + 4 * rank;
  if (buf.length < start)
    throw new DataError(`is cut short: its header needs ${start} bytes for rank ${rank}`, path);
  const dims = Array.from({ length: rank }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  const bytes = buf.length - start;
  if (bytes !== count * dtype.bytes) {
    throw new DataError(
      `has ${bytes} data bytes, but its header [${dims.join(", ")}] of ${dtype.name} says ` +
        `${count * dtype.bytes}`,
      path,
    );
  }
  const at = buf.byteOffset + start;
  let data: IdxArray["data"];
  if (dtype.name === "uint8") data = new Uint8Array(buf.buffer, at, count);
  else if (dtype.name === "int8") data = new Int8Array(buf.buffer, at, count);
  else {
    // Multi-byte elements are big-endian and may be unaligned: read them one by one.
    const view = new DataView(buf.buffer, at, bytes);
    if (dtype.name === "int16")
      data = Int16Array.from({ length: count }, (_, i) => view.getInt16(2 * i));
    else if (dtype.name === "int32")
      data = Int32Array.from({ length: count }, (_, i) => view.getInt32(4 * i));
    else if (dtype.name === "float32")
      data = Float32Array.from({ length: count }, (_, i) => view.getFloat32(4 * i));
    else data = Float64Array.from({ length: count }, (_, i) => view.getFloat64(8 * i));
  }
  return { path, dtype: dtype.name, dims, data };
}

export interface IdxFiles {
  readonly images: string;
  readonly labels: string;
}

/** The names a split's files go by: MNIST's and Fashion-MNIST's, and the dotted mirror form. */
export function idxFileNames(split: "train" | "test"): { images: string[]; labels: string[] } {
  const prefix = split === "train" ? "train" : "t10k";
  const names = (kind: string, rank: number) =>
    [`${prefix}-${kind}-idx${rank}-ubyte`, `${prefix}-${kind}.idx${rank}-ubyte`].flatMap((n) => [
      n,
      `${n}.gz`,
    ]);
  return { images: names("images", 3), labels: names("labels", 1) };
}

/** Finds a split's files in `dir`; either may be missing. */
export function findIdxFiles(dir: string, split: "train" | "test"): Partial<IdxFiles> {
  const names = idxFileNames(split);
  const find = (ns: string[]) => ns.map((n) => join(dir, n)).find((p) => existsSync(p));
  const images = find(names.images);
  const labels = find(names.labels);
  return { ...(images ? { images } : {}), ...(labels ? { labels } : {}) };
}

/** Whether `dir` holds IDX files of either split (how openDataset tells IDX from images). */
export function hasIdxFiles(dir: string): boolean {
  return (["train", "test"] as const).some((s) => {
    const f = findIdxFiles(dir, s);
    return f.images !== undefined || f.labels !== undefined;
  });
}

export interface IdxOptions {
  readonly images: string;
  readonly labels: string;
  /** Keep the first N examples. */
  readonly limit?: number;
  /** The network's outputs: every label must be below it, and it is the one-hot width. */
  readonly classes?: number;
  /** The network's input; images of another shape are an error unless `adapt` allows it. */
  readonly shape?: readonly [number, number, number];
  /** Resizing and channel repetition the user asked for (--resize, --repeat-channels). */
  readonly adapt?: InputAdaptation;
  /** Only these examples of the file, in this order (a validation split's part), before limit. */
  readonly select?: (count: number) => readonly number[];
  readonly name?: string;
}

/**
 * An IDX image/label pair as a dataset. The whole of MNIST is 47 MB of bytes, so the images stay
 * in memory as bytes (only the first `limit`, so a small run does not hold the rest), and become
 * floats one batch at a time. Where the network wants another size, each batch is resized with
 * tf.image.resizeBilinear; where it wants 3 channels, the gray channel is tiled to RGB.
 */
export function loadIdxDataset(o: IdxOptions): Dataset {
  checkLimit(o.limit);
  const images = readIdx(o.images);
  const labels = readIdx(o.labels);
  if (images.dtype !== "uint8")
    throw new DataError(
      `holds ${images.dtype} elements; images must be unsigned bytes (IDX type 08)`,
      o.images,
    );
  if (images.dims.length !== 3)
    throw new DataError(
      `has dimensions [${images.dims.join(", ")}]; images need three: [count, rows, columns]`,
      o.images,
    );
  if (labels.dims.length !== 1)
    throw new DataError(
      `has dimensions [${labels.dims.join(", ")}]; labels need one: [count]`,
      o.labels,
    );
  if (labels.dtype === "float32" || labels.dtype === "float64")
    throw new DataError(`holds ${labels.dtype} elements; labels must be integers`, o.labels);
  const [n, h, w] = images.dims as [number, number, number];
  if (h === 0 || w === 0) throw new DataError(`has images of size ${h}x${w}`, o.images);
  if (labels.dims[0] !== n)
    throw new DataError(
      `has ${labels.dims[0]} labels, but ${o.images} has ${n} images; the counts must match`,
      o.labels,
    );
  let dataClasses = 0;
  for (let i = 0; i < n; i++) {
    const l = labels.data[i]!;
    if (l < 0) throw new DataError(`label ${i} is ${l}; labels must be 0 or more`, o.labels);
    if (o.classes !== undefined && l >= o.classes)
      throw new DataError(
        `label ${i} is ${l}, but the network has ${o.classes} outputs ` +
          `(labels must be 0 to ${o.classes - 1})`,
        o.labels,
      );
    dataClasses = Math.max(dataClasses, l + 1);
  }
  const classes = o.classes ?? dataClasses;
  const chosen = o.select ? o.select(n) : undefined;
  const size = Math.min(chosen?.length ?? n, o.limit ?? n);
  const shape: [number, number, number] = o.shape ? [...o.shape] : [h, w, 1];
  checkChannels(shape, o.images);
  const [th, tw, tc] = shape;
  const adaptation = adaptationFor(o.name ?? o.images, [h, w, 1], shape, o.adapt);
  // Copies, so that with --limit or a split the rest of the unpacked file can be collected.
  const px0 = h * w;
  const pixels = new Uint8Array(size * px0);
  const ys = new Int32Array(size);
  for (let j = 0; j < size; j++) {
    const k = chosen ? chosen[j]! : j;
    pixels.set(images.data.subarray(k * px0, (k + 1) * px0) as Uint8Array, j * px0);
    ys[j] = labels.data[k]!;
  }
  const transform =
    th !== h || tw !== w || tc !== 1
      ? (x: tf.Tensor4D) => {
          const sized = th !== h || tw !== w ? tf.image.resizeBilinear(x, [th, tw]) : x;
          return tc === 3 ? tf.tile(sized, [1, 1, 1, 3]) : sized;
        }
      : undefined;
  return {
    name: o.name ?? o.images,
    size,
    classes,
    shape,
    ...(adaptation.length ? { adaptation } : {}),
    origin: {
      kind: "idx",
      images: o.images,
      records: chosen ? chosen.slice(0, size) : Array.from({ length: size }, (_, j) => j),
      labels: Array.from(ys),
    },
    async *batches(batchSize: number, e: EpochOptions): AsyncIterable<Batch> {
      checkBatchSize(batchSize);
      const order = epochOrder(size, e.seed, e.epoch, e.shuffle);
      const px = h * w;
      for (let i = 0; i < size; i += batchSize) {
        const idx = order.slice(i, i + batchSize);
        const x = new Float32Array(idx.length * px);
        idx.forEach((k, j) => {
          for (let p = 0; p < px; p++) x[j * px + p] = pixels[k * px + p]! / 255;
        });
        yield {
          ...toBatch(
            x,
            idx.map((k) => ys[k]!),
            [h, w, 1],
            classes,
            transform,
          ),
          samples: idx,
        };
      }
    },
  };
}

/**
 * The IDX files of one split in `dir` (train: train-*, test: t10k-*), as a dataset. A folder
 * without them is a DataError naming the folder and the names looked for.
 */
export function openIdxDirectory(
  dir: string,
  split: "train" | "test",
  o: Omit<IdxOptions, "images" | "labels"> = {},
): Dataset {
  if (!existsSync(dir)) throw new DataError("no such folder", dir);
  if (!statSync(dir).isDirectory()) throw new DataError("is not a folder", dir);
  const found = findIdxFiles(dir, split);
  const names = idxFileNames(split);
  if (!found.images)
    throw new DataError(
      `has no ${split} images: expected ${names.images[0]} or ${names.images[1]} (or .gz)`,
      dir,
    );
  if (!found.labels)
    throw new DataError(
      `has no ${split} labels: expected ${names.labels[0]} or ${names.labels[1]} (or .gz)`,
      dir,
    );
  return loadIdxDataset({ ...o, images: found.images, labels: found.labels });
}
