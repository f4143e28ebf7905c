import * as tf from "@tensorflow/tfjs";

export interface PoolDivisorArgs {
  /** The pooled window, [rows, columns]: what the average pool before this layer divided by. */
  window: readonly [number, number];
  /** Per output row and column, the rows and columns each window counts (ir/geometry.ts). */
  rows: readonly number[];
  columns: readonly number[];
  name?: string;
}

/**
 * Ceil-mode average pooling's divisor (PyTorch's, count_include_pad): a 'valid' average pool over
 * the input padded for ceil mode divides every window by its whole size, but the last windows
 * run past the padding and must divide by what they cover, rows[i] * columns[j]. This layer
 * rescales each output position by window / (rows[i] * columns[j]): a constant map, no weights.
 */
export class PoolDivisor extends tf.layers.Layer {
  static className = "PoolDivisor";

  readonly window: [number, number];
  readonly rows: number[];
  readonly columns: number[];

  constructor(args: PoolDivisorArgs) {
    super(args);
    const counts = [...args.rows, ...args.columns];
    if (counts.some((v) => !Number.isInteger(v) || v < 1)) {
      throw new Error(
        `PoolDivisor '${this.name}': rows and columns must be whole numbers of 1 or more, got [${counts.join(", ")}]`,
      );
    }
    this.window = [args.window[0], args.window[1]];
    this.rows = [...args.rows];
    this.columns = [...args.columns];
  }

  override computeOutputShape(input: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(input[0]) ? input[0] : input) as tf.Shape;
    if (s.length !== 4 || s[1] !== this.rows.length || s[2] !== this.columns.length) {
      throw new Error(
        `PoolDivisor '${this.name}': expected an NHWC input of ${this.rows.length}x${this.columns.length}, got [${s.map(String).join(", ")}]`,
      );
    }
    return s;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
      const whole = this.window[0] * this.window[1];
      const scale = tf.tensor4d(
        this.rows.flatMap((r) => this.columns.map((c) => whole / (r * c))),
        [1, this.rows.length, this.columns.length, 1],
      );
      return x.mul(scale);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      window: [...this.window],
      rows: [...this.rows],
      columns: [...this.columns],
      ...super.getConfig(),
    };
  }
}

tf.serialization.registerClass(PoolDivisor);
