import * as tf from "@tensorflow/tfjs";

export interface ChannelShuffleArgs {
  /** Channel groups to interleave; must divide the input channels. */
  groups: number;
  name?: string;
  trainable?: boolean;
}

/**
 * ShuffleNet's channel shuffle on NHWC tensors, as torchvision's `channel_shuffle` on NCHW: the
 * channels, seen as [groups, c / groups], are transposed to [c / groups, groups] and flattened,
 * so output channel `j * groups + i` is input channel `i * (c / groups) + j`. No weights.
 */
export class ChannelShuffle extends tf.layers.Layer {
  static className = "ChannelShuffle";

  readonly groups: number;

  constructor(args: ChannelShuffleArgs) {
    super(args);
    this.groups = args.groups;
    if (!Number.isInteger(this.groups) || this.groups < 1)
      throw new Error(
        `ChannelShuffle '${this.name}': groups must be a positive integer, got ${this.groups}`,
      );
  }

  private channels(shape: tf.Shape): number {
    const c = shape[shape.length - 1];
    if (shape.length !== 4 || c === null || c === undefined || c % this.groups !== 0)
      throw new Error(
        `ChannelShuffle '${this.name}': expected an NHWC input whose channels groups=${this.groups} divides, got [${shape.map(String).join(", ")}]`,
      );
    return c;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    this.channels(shape);
    return shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const [n, h, w, c] = x.shape;
      this.channels(x.shape);
      const g = this.groups;
      return x
        .reshape([n, h, w, g, c / g])
        .transpose([0, 1, 2, 4, 3])
        .reshape([n, h, w, c]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { groups: this.groups, ...super.getConfig() };
  }
}

tf.serialization.registerClass(ChannelShuffle);
