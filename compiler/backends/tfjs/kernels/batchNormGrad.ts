import * as tf from "@tensorflow/tfjs";

// Why: tfjs' own FusedBatchNorm gradient tiles 1/sqrt(variance + eps) up to the whole
// [B, H, W, C] input before multiplying, and builds about nine full-size temporaries
// for the five gradients. wasm's Tile is a generic element-by-element loop: in a
// mini_xception training step it was the most expensive kernel (27% of the step, more
// than every convolution). The same gradients need two reductions and three
// full-size products once shared: with r = rsqrt(var + eps), S1 = sum(dy) and
// S2 = sum(dy * (x - mean)) over the batch and space,
//   dx = dy * (scale * r)             (a [C] vector broadcast, no tile)
//   dmean = -scale * r * S1           doffset = S1
//   dvar = -scale * r^3 / 2 * S2      dscale = r * S2
// It is registered for every backend (gradients are not per backend); a mean that is
// not one value per channel keeps tfjs' formulas, which need no tile there.

/** tfjs' own gradient, kept for non-per-channel statistics and for tests. */
let original: tf.GradConfig | undefined;

export function originalBatchNormGradient(): tf.GradConfig | undefined {
  return original;
}

export const batchNormGradConfig: tf.GradConfig = {
  kernelName: tf.FusedBatchNorm,
  inputsToSave: ["x", "mean", "variance", "scale"],
  gradFunc: (dy, saved, attrs) => {
    const dyT = dy as tf.Tensor;
    const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor?];
    if (mean.rank !== 1 && original) return original.gradFunc(dy, saved, attrs);
    const eps = (attrs as unknown as { varianceEpsilon: number }).varianceEpsilon;
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const r = tf.rsqrt(tf.add(variance, eps));
    const scaleR = scale ? tf.mul(scale, r) : r;
    // Computed here, not in the closures: the engine runs each closure in its own tidy,
    // so a sum one closure made would be gone when the next one wanted it.
    const s1 = tf.sum(dyT, axes);
    const s2 = tf.sum(tf.mul(dyT, tf.sub(x, mean)), axes);
    const perChannel = (t: tf.Tensor) => tf.reshape(t, mean.shape);
    return {
      x: () => tf.mul(dyT, tf.reshape(scaleR, [mean.shape[0]!])),
      mean: () => perChannel(tf.mul(tf.neg(scaleR), s1)),
      variance: () => perChannel(tf.mul(tf.mul(tf.mul(scaleR, tf.square(r)), -0.5), s2)),
      scale: () => perChannel(tf.mul(r, s2)),
      offset: () => perChannel(s1),
    };
  },
};

/** Puts this gradient in place of tfjs' own; idempotent. */
export function registerBatchNormGradient(): void {
  const current = tf.getGradient(tf.FusedBatchNorm);
  if (current === batchNormGradConfig) return;
  original ??= current;
  tf.registerGradient(batchNormGradConfig);
}
