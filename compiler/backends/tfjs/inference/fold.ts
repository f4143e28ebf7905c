import * as tf from "@tensorflow/tfjs";

/** A batch norm at inference: y = x * scale + shift per channel, from its moving statistics. */
export interface ChannelAffine {
  readonly scale: Float64Array;
  readonly shift: Float64Array;
}

/** What folding reads of a tfjs BatchNormalization layer (tfjs-layers keeps them public). */
interface BatchNormWeights {
  readonly epsilon: number;
  readonly gamma: tf.LayerVariable | null;
  readonly beta: tf.LayerVariable | null;
  readonly movingMean: tf.LayerVariable;
  readonly movingVariance: tf.LayerVariable;
}

/**
 * The batch norm's per-channel affine map, in float64: scale = gamma / sqrt(variance + epsilon),
 * shift = beta - mean * scale, as tfjs' batchNorm computes it in inference (training: false).
 */
export function batchNormAffine(layer: tf.layers.Layer): ChannelAffine {
  const bn = layer as unknown as BatchNormWeights;
  const mean = bn.movingMean.read().dataSync();
  const variance = bn.movingVariance.read().dataSync();
  const gamma = bn.gamma?.read().dataSync();
  const beta = bn.beta?.read().dataSync();
  const c = mean.length;
  const scale = new Float64Array(c);
  const shift = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    scale[i] = (gamma ? gamma[i]! : 1) / Math.sqrt(variance[i]! + bn.epsilon);
    shift[i] = (beta ? beta[i]! : 0) - mean[i]! * scale[i]!;
  }
  return { scale, shift };
}

/**
 * A kernel whose outputs a per-channel scale multiplies: its last axis is the output channel
 * (conv2d, grouped, pointwise, dense), or, for a depthwise kernel [kh, kw, cin, multiplier],
 * output channel c * multiplier + m is its [.., c, m] (tfjs' order).
 */
export function scaleKernel(
  kernel: tf.Tensor,
  scale: Float64Array,
  layout: "lastAxis" | "depthwise",
): tf.Tensor {
  return tf.tidy(() => {
    const s = tf.tensor1d(Float32Array.from(scale));
    if (layout === "lastAxis") return tf.mul(kernel, s);
    const [, , cin, multiplier] = kernel.shape as [number, number, number, number];
    return tf.mul(kernel, tf.reshape(s, [1, 1, cin, multiplier]));
  });
}

/** The bias after the batch norm: (bias - mean) * scale + beta, i.e. bias * scale + shift. */
export function foldedBias(bias: Float32Array | undefined, affine: ChannelAffine): tf.Tensor1D {
  const out = new Float32Array(affine.scale.length);
  for (let i = 0; i < out.length; i++)
    out[i] = (bias ? bias[i]! : 0) * affine.scale[i]! + affine.shift[i]!;
  return tf.tensor1d(out);
}
