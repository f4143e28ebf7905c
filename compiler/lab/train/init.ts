import * as tf from "@tensorflow/tfjs";

/**
 * Re-draws every kernel with Glorot-uniform values from a fixed seed, so two runs with the same
 * seed start from the same weights (tfjs' own initialisers are not seeded). Biases, betas and
 * moving statistics keep their constant initial values.
 */
export function seedWeights(model: tf.LayersModel, seed: number): void {
  model.weights.forEach((w, i) => {
    if (!/kernel$/.test(w.originalName)) return;
    const shape = w.shape.map((d) => d ?? 1);
    const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
    const fanIn = receptive * (shape[shape.length - 2] ?? 1);
    const fanOut = receptive * (shape[shape.length - 1] ?? 1);
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    w.write(tf.randomUniform(shape, -limit, limit, "float32", seed * 7919 + i));
  });
}
