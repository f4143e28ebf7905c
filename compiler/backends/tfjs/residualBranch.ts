import * as tf from "@tensorflow/tfjs";

/**
 * The two layers a ConvNeXt residual branch ends with that tfjs lacks: layer scale (a learnable
 * multiplier per channel) and stochastic depth (torchvision's StochasticDepth, "row" mode). Both
 * are registered so that saved models load.
 */

export interface LayerScaleArgs {
  /** The multipliers' initial value (ConvNeXt: 1e-6). */
  init: number;
  name?: string;
  trainable?: boolean;
}

/** y = x * gamma, one gamma per channel (the last axis), each starting at `init`. */
export class LayerScale extends tf.layers.Layer {
  static className = "LayerScale";

  readonly init: number;
  private gamma: tf.LayerVariable | null = null;

  constructor(args: LayerScaleArgs) {
    super(args);
    this.init = args.init;
    if (!Number.isFinite(this.init))
      throw new Error(`LayerScale '${this.name}': init must be a finite number, got ${args.init}`);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const c = shape[shape.length - 1];
    if (c === null || c === undefined)
      throw new Error(`LayerScale '${this.name}': the channel count must be known`);
    this.gamma = this.addWeight(
      "gamma",
      [c],
      "float32",
      tf.initializers.constant({ value: this.init }),
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      return tf.mul(x, this.gamma!.read());
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { init: this.init, ...super.getConfig() };
  }
}

export interface DropPathArgs {
  /** Probability that an example's tensor is dropped, in [0, 1). */
  rate: number;
  /** Seed of the next training call's draw; the trainer sets a fresh one per step. */
  seed?: number;
  name?: string;
  trainable?: boolean;
}

/**
 * Stochastic depth as torchvision's `stochastic_depth(x, p, "row", training)`: in training each
 * example is kept with probability 1 - rate and then divided by 1 - rate, else zeroed whole; at
 * inference the identity. The draw is seeded like tfjs' Dropout (`seed`), so a run is repeatable.
 */
export class DropPath extends tf.layers.Layer {
  static className = "DropPath";

  readonly rate: number;
  seed: number | undefined;

  constructor(args: DropPathArgs) {
    super(args);
    this.rate = args.rate;
    this.seed = args.seed;
    if (!(this.rate >= 0 && this.rate < 1))
      throw new Error(`DropPath '${this.name}': rate must be in [0, 1), got ${args.rate}`);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (!kwargs["training"] || this.rate === 0) return tf.clone(x);
    return tf.tidy(() => {
      const keep = 1 - this.rate;
      const shape = [x.shape[0]!, ...x.shape.slice(1).map(() => 1)];
      // floor(keep + u) is 1 with probability keep, as torchvision's bernoulli_(keep).
      const mask = tf.floor(tf.add(keep, tf.randomUniform(shape, 0, 1, "float32", this.seed)));
      return tf.mul(x, tf.div(mask, keep));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { rate: this.rate, ...super.getConfig() };
  }
}

tf.serialization.registerClass(LayerScale);
tf.serialization.registerClass(DropPath);
