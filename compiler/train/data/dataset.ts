import type * as tf from "@tensorflow/tfjs";

export interface Batch {
  /** [n, h, w, c] float32 in [0, 1]. */
  readonly x: tf.Tensor4D;
  /** One-hot [n, classes]. */
  readonly y: tf.Tensor2D;
}

export interface EpochOptions {
  readonly seed: number;
  readonly epoch: number;
  readonly shuffle: boolean;
}

/** A source of labelled images, delivered in batches in an order fixed by seed and epoch. */
export interface Dataset {
  readonly name: string;
  readonly size: number;
  readonly classes: number;
  /** h, w, c as delivered (the network's input). */
  readonly shape: readonly [number, number, number];
  batches(batchSize: number, opts: EpochOptions): AsyncIterable<Batch>;
  /** Images skipped as unreadable (with --skip-corrupt), with why. */
  readonly skipped?: readonly { path: string; reason: string }[];
}

/** Bad data: says what is wrong and, where there is one, the file or folder. */
export class DataError extends Error {
  constructor(
    message: string,
    readonly path?: string,
  ) {
    super(path ? `${path}: ${message}` : message);
  }
}
