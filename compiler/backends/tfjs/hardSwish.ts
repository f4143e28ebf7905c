import * as tf from "@tensorflow/tfjs";

/**
 * hard_swish(x) = x * relu6(x + 3) / 6, as PyTorch's Hardswish and Keras' hard_swish define it
 * (MobileNetV3). tfjs has no such activation, so it is a layer of its own, without weights,
 * registered so that saved models load.
 */
export class HardSwish extends tf.layers.Layer {
  static className = "HardSwish";

  constructor(args: { name?: string } = {}) {
    super(args);
    this.supportsMasking = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      return tf.div(tf.mul(x, tf.clipByValue(tf.add(x, 3), 0, 6)), 6);
    });
  }

  override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return shape;
  }
}

tf.serialization.registerClass(HardSwish);
