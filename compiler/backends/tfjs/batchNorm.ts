import * as tf from "@tensorflow/tfjs";
import { batchNormTraining, batchNormTrainingAvailable } from "./kernels/batchNormTraining.js";

// Why: in training, tfjs-layers' BatchNormalization runs tf.moments and batchNormalization,
// about a dozen kernels forward and, backward, Mean's gradient, which builds a ones tensor
// of the whole input in JS. On wasm the same layer runs two fused SIMD kernels instead
// (kernels/batchNormTraining.ts); everything else — inference, other backends, axes other
// than the last, serialisation, the moving averages' update rule — is tfjs-layers' own.

interface BatchNormInternals extends tf.layers.Layer {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma: tf.LayerVariable | null;
  beta: tf.LayerVariable | null;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

type LayerClass = new (args: object) => tf.layers.Layer;

/** tfjs-layers registers its BatchNormalization class for deserialisation; we extend it. */
function tfjsBatchNormalization(): LayerClass {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap["BatchNormalization"];
  if (!entry) throw new Error("tfjs-layers' BatchNormalization is not registered");
  return entry[0] as unknown as LayerClass;
}

const Base = tfjsBatchNormalization();

/**
 * BatchNormalization whose training pass is fused on wasm. Its class name stays
 * BatchNormalization, so a saved model loads as tfjs' own layer, with the same weights.
 */
export class FusedTrainingBatchNorm extends Base {
  /**
   * Set (by model.ts, before the layer is applied) when the only consumer of this layer is a
   * ReLU that has become a ReluAfterBatchNorm: this layer then outputs max(0, y) in every mode,
   * in the same kernel call when training on wasm. Not serialised: a saved model keeps its
   * separate ReLU layer, whose ReLU of a ReLU is the same values.
   */
  reluAfter = false;

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const self = this as unknown as BatchNormInternals;
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const lastAxis = self.axis === -1 || self.axis === x.rank - 1;
    const relu = this.reluAfter;
    if (
      !kwargs["training"] ||
      !lastAxis ||
      x.dtype !== "float32" ||
      !batchNormTrainingAvailable(relu)
    ) {
      const y = super.call(inputs, kwargs) as tf.Tensor;
      return relu ? tf.tidy(() => tf.relu(y)) : y;
    }
    return tf.tidy(() => {
      const c = x.shape[x.rank - 1]!;
      const gamma = (self.gamma?.read() ?? tf.ones([c])) as tf.Tensor1D;
      const beta = (self.beta?.read() ?? tf.zeros([c])) as tf.Tensor1D;
      const [y, mean, variance] = batchNormTraining(x, gamma, beta, self.epsilon, relu);
      // tfjs-layers' update, verbatim: moving -= (moving - batch) * (1 - momentum).
      const decay = 1 - self.momentum;
      for (const [moving, batch] of [
        [self.movingMean, mean],
        [self.movingVariance, variance],
      ] as const) {
        tf.tidy(() => {
          const orig = moving.read();
          moving.write(tf.sub(orig, tf.mul(tf.sub(orig, batch), decay)));
        });
      }
      return y;
    });
  }
}

type ActivationClass = new (args: { activation: "relu"; name?: string }) => tf.layers.Layer;

function tfjsActivationLayer(): ActivationClass {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap["Activation"];
  if (!entry) throw new Error("tfjs-layers' Activation is not registered");
  return entry[0] as unknown as ActivationClass;
}

/**
 * The ReLU after a FusedTrainingBatchNorm whose reluAfter is set: its input is already
 * max(0, .), so it passes it on without a kernel call (tfjs' own Dropout passes its input on
 * the same way). It stays an Activation('relu') layer, so a saved model — whose batch norm
 * is tfjs' plain one once loaded — still applies the ReLU.
 */
export class ReluAfterBatchNorm extends tfjsActivationLayer() {
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return Array.isArray(inputs) ? inputs[0]! : inputs;
  }
}
