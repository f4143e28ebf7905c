import type { Activation, ActivationTable } from "../../language/ir/activations.js";
import type { IRGraph } from "../../language/ir/types.js";

/**
 * The ranges random weights are drawn from. Kernels are Glorot-uniform as in a fresh tfjs model;
 * everything a fresh model leaves at 0 or 1 is drawn instead, so that a swapped, dropped or
 * mis-laid parameter changes the outputs and a numerical comparison means something.
 */
export const RANDOM_RANGES = {
  bias: [-0.2, 0.2],
  gamma: [0.5, 1.5],
  beta: [-0.3, 0.3],
  /** In units of the estimated standard deviation of the batch norm's input. */
  moving_mean: [-0.3, 0.3],
  /** A factor on the estimated variance of the batch norm's input. */
  moving_variance: [0.7, 1.4],
} as const;

/** What an op's moment (lower.ts's `onnxOps`) is computed from. */
export interface MomentInputs {
  readonly graph: IRGraph;
  /** E[x^2] of each input, and of the first. */
  readonly ins: readonly number[];
  readonly x: number;
  readonly cin: number;
}

/** E[x^2] of a uniform draw from [lo, hi]. */
export const mean2 = ([lo, hi]: readonly [number, number]) => (lo * lo + lo * hi + hi * hi) / 3;

/** How a Glorot-uniform kernel scales E[x^2]. */
export const kernelGain = (fanIn: number, fanOut: number) => (2 * fanIn) / (fanIn + fanOut);

/** E[b^2] of a drawn bias. */
export const biasMoment = mean2(RANDOM_RANGES.bias);

/** How an activation changes E[x^2] for roughly zero-centred inputs; rough, by design. */
export function afterActivation(fn: Activation, m2: number): number {
  return activationMoments[fn](m2);
}

const same = (m2: number) => m2;
// About half the energy survives a rectifier-like function.
const half = (m2: number) => m2 / 2;
const squashed = (m2: number) => 0.25 + m2 / 16;
const activationMoments: ActivationTable<(m2: number) => number> = {
  none: same,
  linear: same,
  relu: half,
  relu6: half,
  elu: half,
  selu: same,
  gelu: half,
  sigmoid: squashed,
  hard_sigmoid: squashed,
  h_sigmoid: squashed,
  tanh: (m2) => m2 / (1 + m2),
  softmax: () => 0.1,
  softplus: half,
  swish: half,
  // About x / 2 near 0 (a quarter of the energy), relu for large x (half).
  hard_swish: (m2) => m2 / 3,
  leaky_relu: half,
};
