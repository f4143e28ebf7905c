import * as tf from "@tensorflow/tfjs";

export interface ChannelSliceArgs {
  /** The first channel taken, and how many. */
  start: number;
  size: number;
  name?: string;
}

/**
 * The channels [start, start + size) of an NHWC tensor: one branch of a channel split (ShuffleNet
 * v2's `x.chunk(2, dim=1)`). No weights; the gradient flows to the sliced channels only.
 */
export class ChannelSlice extends tf.layers.Layer {
  static className = "ChannelSlice";

  readonly start: number;
  readonly size: number;

  constructor(args: ChannelSliceArgs) {
    super(args);
    if (
      !Number.isInteger(args.start) ||
      args.start < 0 ||
      !Number.isInteger(args.size) ||
      args.size < 1
    )
      throw new Error(
        `ChannelSlice '${this.name}': start must be a whole number of 0 or more and size of 1 or more, got ${args.start} and ${args.size}`,
      );
    this.start = args.start;
    this.size = args.size;
  }

  override computeOutputShape(input: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(input[0]) ? input[0] : input) as tf.Shape;
    const c = s[s.length - 1];
    if (c === null || c === undefined || this.start + this.size > c)
      throw new Error(
        `ChannelSlice '${this.name}': channels ${this.start} to ${this.start + this.size - 1} of an input of ${String(c)}`,
      );
    return [...s.slice(0, -1), this.size];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor;
    const begin = x.shape.map((_, i) => (i === x.rank - 1 ? this.start : 0));
    const size = x.shape.map((d, i) => (i === x.rank - 1 ? this.size : d));
    return tf.slice(x, begin, size);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { start: this.start, size: this.size, ...super.getConfig() };
  }
}

tf.serialization.registerClass(ChannelSlice);
