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
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const self = this as unknown as BatchNormInternals;
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const lastAxis = self.axis === -1 || self.axis === x.rank - 1;
    if (!kwargs["training"] || !lastAxis || x.dtype !== "float32" || !batchNormTrainingAvailable())
      return super.call(inputs, kwargs) as tf.Tensor;
    return tf.tidy(() => {
      const c = x.shape[x.rank - 1]!;
      const gamma = (self.gamma?.read() ?? tf.ones([c])) as tf.Tensor1D;
      const beta = (self.beta?.read() ?? tf.zeros([c])) as tf.Tensor1D;
      const [y, mean, variance] = batchNormTraining(x, gamma, beta, self.epsilon);
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
