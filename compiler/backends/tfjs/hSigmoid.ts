import * as tf from "@tensorflow/tfjs";

/**
 * h_sigmoid(x) = relu6(x + 3) / 6, PyTorch's Hardsigmoid and the MobileNetV3 paper's h-sigmoid
 * (the squeeze-and-excitation gate). tfjs' hardSigmoid is Keras 2's clip(0.2 x + 0.5, 0, 1), a
 * different slope, so this is a layer of its own, without weights, registered so that saved
 * models load.
 */
export class HSigmoid extends tf.layers.Layer {
  static className = "HSigmoid";

  constructor(args: { name?: string } = {}) {
    super(args);
    this.supportsMasking = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      return tf.div(tf.clipByValue(tf.add(x, 3), 0, 6), 6);
    });
  }

  override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return shape;
  }
}

tf.serialization.registerClass(HSigmoid);
