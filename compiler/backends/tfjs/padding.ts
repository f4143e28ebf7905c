import * as tf from "@tensorflow/tfjs";

export interface MaxPadding2DArgs {
  /** [top, bottom, left, right] pixels. */
  pads: readonly [number, number, number, number];
  name?: string;
}

/**
 * Padding for max pooling with explicit pads: it pads with -infinity, so the padding never wins
 * a window (PyTorch's MaxPool2d `padding`, ONNX's MaxPool `pads`). tfjs' ZeroPadding2D pads with
 * zeros, which would win wherever a window's input is negative. Channels-last.
 */
export class MaxPadding2D extends tf.layers.Layer {
  static className = "MaxPadding2D";

  readonly pads: [number, number, number, number];

  constructor(args: MaxPadding2DArgs) {
    super(args);
    const p = args.pads;
    if (p.length !== 4 || p.some((v) => !Number.isInteger(v) || v < 0)) {
      throw new Error(
        `MaxPadding2D '${this.name}': pads must be four whole numbers of 0 or more, got [${p.join(", ")}]`,
      );
    }
    this.pads = [p[0], p[1], p[2], p[3]];
  }

  override computeOutputShape(input: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(input[0]) ? input[0] : input) as tf.Shape;
    const [t, b, l, r] = this.pads;
    const grow = (d: number | null, by: number) => (d === null ? null : d + by);
    return [s[0]!, grow(s[1]!, t + b), grow(s[2]!, l + r), s[3]!];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
    const [t, b, l, r] = this.pads;
    return tf.pad(
      x,
      [
        [0, 0],
        [t, b],
        [l, r],
        [0, 0],
      ],
      -Infinity,
    );
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { pads: [...this.pads], ...super.getConfig() };
  }
}

tf.serialization.registerClass(MaxPadding2D);
