import * as tf from "@tensorflow/tfjs";
import type { View } from "../../data/augment.js";

export interface Batch {
  /** [n, h, w, c] float32 in [0, 1]. */
  readonly x: tf.Tensor4D;
  /** One-hot [n, classes] float32. */
  readonly y: tf.Tensor2D;
  /** The data set's number of each row's sample (what a view's crop is drawn by). */
  readonly samples?: readonly number[];
}

export interface EpochOptions {
  readonly seed: number;
  readonly epoch: number;
  readonly shuffle: boolean;
  /** Batches of the epoch to pass over unread (a resumed run's), where the source `seeks`. */
  readonly from?: number;
  /**
   * What each sample is made into (compiler/lab/data/augment.ts): the training crop, drawn from
   * (seed, epoch, sample), or the evaluation's centre crop. Absent: the images as they are.
   */
  readonly view?: View;
  /**
   * The run's last epoch: a loader that decodes the next epoch's first batches while this one
   * ends (packs and image folders do) has no next epoch to decode.
   */
  readonly final?: boolean;
}

/**
 * Where each sample of a data set comes from, so that a loader in another process (the torch
 * engine's runner) reads and decodes it one at a time, as this one does, and never the whole
 * set: the image files (sample i is `files[i]`, decoded and stretched to the input); the records
 * of an IDX file (sample i is record `records[i]`, its bytes over 255, resized and repeated to
 * the input as loadIdxDataset does); or synthetic data (sample i is its class's mean,
 * `means[i % classes]`, plus the noise drawn from (seed, stream, i)).
 */
export type SampleOrigin =
  | {
      readonly kind: "files";
      readonly files: readonly string[];
      readonly labels: readonly number[];
      readonly skipCorrupt: boolean;
    }
  | {
      readonly kind: "idx";
      readonly images: string;
      readonly records: readonly number[];
      readonly labels: readonly number[];
    }
  | {
      readonly kind: "synthetic";
      readonly means: readonly Float32Array[];
      readonly seed: number;
      readonly stream: number;
      readonly noise: number;
    };

/** A source of labelled images, delivered in batches in an order fixed by seed and epoch. */
export interface Dataset {
  readonly name: string;
  /** Examples listed (after --limit); with skipCorrupt, skipped files are still counted here. */
  readonly size: number;
  /** Width of the one-hot labels: the network's outputs where given, else the data's classes. */
  readonly classes: number;
  /** h, w, c as delivered (the network's input). */
  readonly shape: [number, number, number];
  /**
   * Batches in an order fixed by `seed` and `epoch` (shuffled with a seeded PRNG). The caller
   * owns each batch's tensors and disposes them; nothing else is kept alive between batches.
   */
  batches(batchSize: number, opts: EpochOptions): AsyncIterable<Batch>;
  /** Images skipped as unreadable (with skipCorrupt), each once, with why. */
  readonly skipped?: readonly { path: string; reason: string }[];
  /** How the stored images were made to fit the network (--resize, --repeat-channels). */
  readonly adaptation?: readonly string[];
  /** Honours `from` (starts an epoch at a batch without reading those before it). */
  readonly seeks?: boolean;
  /**
   * Honours `view` (EpochOptions). Every opened data set does: packs crop the stored image, the
   * other sources the image as they deliver it (withViews, views.ts).
   */
  readonly views?: boolean;
  /** Class names by label, where the data has them (image folders). */
  readonly classNames?: readonly string[];
  /** Where each sample comes from, for a loader in another process (packs: `shards`). */
  readonly origin?: SampleOrigin;
  /**
   * Starts now what reading will need (decoding threads, a pack's sample table), so that it
   * overlaps what comes before the first batch instead of delaying it. The embedded trainer
   * calls it when it opens a run's data; the torch engine, which reads in Python, does not.
   */
  warm?(): void;
}

/** Bad data: says what is wrong and, where there is one, the file or folder. */
export class DataError extends Error {
  constructor(
    message: string,
    readonly path?: string,
  ) {
    super(path ? `${path}: ${message}` : message);
    this.name = "DataError";
  }
}

/** Channel counts the loaders can deliver: grayscale or RGB. */
export function checkChannels(shape: readonly [number, number, number], path?: string): void {
  const [h, w, c] = shape;
  if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0))
    throw new DataError(`the network's input ${h}x${w} is not a positive image size`, path);
  if (c !== 1 && c !== 3)
    throw new DataError(
      `the network takes ${c} channels; archc delivers images as 1 (grayscale) or 3 (RGB)`,
      path,
    );
}

export function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batch size must be a positive whole number, not ${batchSize}`);
}

/** --limit as a count: a positive whole number, or absent. */
export function checkLimit(limit: number | undefined): void {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
    throw new DataError(`--limit must be a positive whole number, not ${limit}`);
}

/**
 * Pixels and labels to tensors. Everything intermediate (the int labels, a resize) is made and
 * freed inside one tidy, so a batch costs exactly its two returned tensors.
 */
export function toBatch(
  pixels: Float32Array,
  labels: ArrayLike<number>,
  shape: readonly [number, number, number],
  classes: number,
  transform?: (x: tf.Tensor4D) => tf.Tensor4D,
): Batch {
  const n = labels.length;
  return tf.tidy(() => {
    const raw = tf.tensor4d(pixels, [n, shape[0], shape[1], shape[2]]);
    const x = transform ? transform(raw) : raw;
    const y = tf.oneHot(tf.tensor1d(Int32Array.from(labels), "int32"), classes).toFloat();
    return { x, y: y as tf.Tensor2D };
  });
}
