import * as tf from "@tensorflow/tfjs";
import { expect } from "vitest";

/**
 * The largest |gradient| of each trainable weight of `model`, by its original name, for softmax
 * cross-entropy on its logits (`x` in training mode, one-hot `labels`), in the order of the
 * model's weights; `seen` lists them all for assertion messages. The loss must be finite.
 */
export function gradientSizes(
  model: tf.LayersModel,
  x: tf.Tensor,
  labels: tf.Tensor,
): { sizes: Map<string, number>; seen: string } {
  const weights = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(
    () =>
      tf.losses.softmaxCrossEntropy(
        labels,
        model.apply(x, { training: true }) as tf.Tensor,
      ) as tf.Scalar,
    weights,
  );
  expect(Number.isFinite(value.dataSync()[0]!), String(value.dataSync()[0])).toBe(true);
  const sizes = new Map(
    model.trainableWeights.map((w, i) => [
      w.originalName,
      tf.max(tf.abs(grads[weights[i]!.name]!)).dataSync()[0]!,
    ]),
  );
  tf.dispose([value, ...Object.values(grads)]);
  return { sizes, seen: JSON.stringify([...sizes]) };
}
