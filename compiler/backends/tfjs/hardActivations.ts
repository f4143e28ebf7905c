import * as tf from "@tensorflow/tfjs";

/**
 * The piecewise-linear activations of MobileNetV3 that tfjs lacks, as layers without weights,
 * registered so that saved models load. tfjs' own hardSigmoid is Keras 2's clip(0.2 x + 0.5, 0,
 * 1), a different slope from PyTorch's and the paper's relu6(x + 3) / 6.
 */
abstract class PiecewiseActivation extends tf.layers.Layer {
  constructor(args: { name?: string } = {}) {
    super(args);
    this.supportsMasking = true;
  }

  protected abstract f(x: tf.Tensor): tf.Tensor;

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => this.f(Array.isArray(inputs) ? inputs[0]! : inputs));
  }

  override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return shape;
  }
}

/** relu6(x + 3) / 6: x + 3 clipped to [0, 6], over 6. */
const relu6Shifted = (x: tf.Tensor) => tf.div(tf.clipByValue(tf.add(x, 3), 0, 6), 6);

/** hard_swish(x) = x * relu6(x + 3) / 6, as PyTorch's Hardswish and Keras' hard_swish define it. */
export class HardSwish extends PiecewiseActivation {
  static className = "HardSwish";
  protected f(x: tf.Tensor): tf.Tensor {
    return tf.mul(x, relu6Shifted(x));
  }
}

/** h_sigmoid(x) = relu6(x + 3) / 6, PyTorch's Hardsigmoid (the squeeze-and-excitation gate). */
export class HSigmoid extends PiecewiseActivation {
  static className = "HSigmoid";
  protected f(x: tf.Tensor): tf.Tensor {
    return relu6Shifted(x);
  }
}

tf.serialization.registerClass(HardSwish);
tf.serialization.registerClass(HSigmoid);
