import { channelsIn, sepconvSteps } from "../../language/ir/geometry.js";
import type { IRGraph } from "../../language/ir/types.js";
import { onnxParameters, type ParameterSpec } from "./parameters.js";
import type { OnnxTensor } from "./tensor.js";

/** Seeded uniform numbers in [0, 1) (mulberry32): the same seed gives the same model. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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

const mean2 = ([lo, hi]: readonly [number, number]) => (lo * lo + lo * hi + hi * hi) / 3;

/**
 * Second moments (E[x^2], one number per node) of every node's output for unit-variance inputs
 * and weights from RANDOM_RANGES, propagated layer by layer: a Glorot kernel scales by
 * 2 fanIn / (fanIn + fanOut), a rectifier halves, a batch norm with statistics near its input's
 * gives E[gamma^2] + E[beta^2]. Moving variances are drawn around these, so every batch norm
 * sees statistics of the size its input really has and activations stay of order 1 to the
 * logits, instead of shrinking with depth as under batch norms at identity.
 */
export function secondMoments(graph: IRGraph): number[] {
  const m: number[] = [];
  const kernelGain = (fanIn: number, fanOut: number) => (2 * fanIn) / (fanIn + fanOut);
  const bias = mean2(RANDOM_RANGES.bias);
  for (const node of graph.nodes) {
    const ins = node.inputs.map((i) => m[i]!);
    const x = ins[0] ?? 1;
    const cin = channelsIn(graph, node);
    let y: number;
    switch (node.op) {
      case "input":
        y = 1;
        break;
      case "conv": {
        const a = node.attrs;
        const taps = a.kernel[0] * a.kernel[1];
        y = x * kernelGain((taps * cin) / a.groups, taps * a.filters) + (a.useBias ? bias : 0);
        break;
      }
      case "sepconv": {
        const a = node.attrs;
        y = x;
        for (const [i, step] of sepconvSteps(node, cin).entries()) {
          const taps = step.kind === "spatial" ? a.kernel[0] * a.kernel[1] : 1;
          y *= kernelGain((taps * step.inChannels) / step.groups, taps * step.outChannels);
          if (i === 0) y = afterActivation(a.mid, y);
        }
        if (a.useBias) y += bias;
        break;
      }
      case "bn":
        y =
          (node.attrs.scale ? mean2(RANDOM_RANGES.gamma) : 1) +
          (node.attrs.center ? mean2(RANDOM_RANGES.beta) : 0);
        break;
      case "layernorm":
        // Unit variance per position, then scaled and shifted as batch norm is.
        y =
          (node.attrs.scale ? mean2(RANDOM_RANGES.gamma) : 1) +
          (node.attrs.center ? mean2(RANDOM_RANGES.beta) : 0);
        break;
      case "layerscale":
        y = x * mean2(RANDOM_RANGES.gamma);
        break;
      case "dense":
        y = x * kernelGain(cin, node.attrs.units) + (node.attrs.useBias ? bias : 0);
        break;
      case "add":
        y = ins.reduce((s, v) => s + v, 0);
        break;
      case "mul":
        // Independent factors: E[(ab)^2] = E[a^2] E[b^2].
        y = ins.reduce((p, v) => p * v, 1);
        break;
      case "concat": {
        const widths = node.inputs.map((i) => graph.nodes[i]!.shape.at(-1)!);
        const total = widths.reduce((s, w) => s + w, 0);
        y = ins.reduce((s, v, i) => s + (v * widths[i]!) / total, 0);
        break;
      }
      default:
        y = x;
    }
    // The activation a node ends in (act, conv, sepconv, dense); a sepconv's mid is applied above.
    const fn = "activation" in node.attrs ? node.attrs.activation : "none";
    m.push(afterActivation(fn, y));
  }
  return m;
}

/** How an activation changes E[x^2] for roughly zero-centred inputs; rough, by design. */
function afterActivation(fn: string, m2: number): number {
  switch (fn) {
    case "none":
    case "linear":
      return m2;
    case "sigmoid":
    case "hard_sigmoid":
    case "h_sigmoid":
      return 0.25 + m2 / 16;
    case "tanh":
      return m2 / (1 + m2);
    case "softmax":
      return 0.1;
    case "selu":
      return m2;
    case "hard_swish":
      // About x / 2 near 0 (a quarter of the energy), relu for large x (half).
      return m2 / 3;
    default:
      // relu, relu6, elu, gelu, swish, softplus, leaky_relu: about half the energy survives.
      return m2 / 2;
  }
}

/**
 * Seeded random weights for every parameter (see RANDOM_RANGES): Glorot-uniform kernels,
 * non-zero biases, and batch norms whose gamma, beta and statistics are all drawn, the
 * statistics around what each batch norm's input holds (secondMoments).
 */
export function randomWeights(graph: IRGraph, seed = 1): Map<string, OnnxTensor> {
  const next = rng(seed);
  const uniform = ([lo, hi]: readonly [number, number]) => lo + (hi - lo) * next();
  const moments = secondMoments(graph);
  const inputMoment = new Map<string, number>();
  for (const node of graph.nodes)
    if (node.op === "bn") inputMoment.set(node.name, moments[node.inputs[0]!] ?? 1);
  const out = new Map<string, OnnxTensor>();
  for (const p of onnxParameters(graph)) {
    const data = new Float32Array(p.dims.reduce((a, b) => a * b, 1));
    const fill = (f: () => number) => {
      for (let i = 0; i < data.length; i++) data[i] = f();
    };
    const v = inputMoment.get(p.node) ?? 1;
    switch (p.init) {
      case "kernel": {
        const [fanIn, fanOut] = p.fans!;
        const limit = Math.sqrt(6 / (fanIn + fanOut));
        fill(() => (next() * 2 - 1) * limit);
        break;
      }
      case "moving_mean":
        fill(() => uniform(RANDOM_RANGES.moving_mean) * Math.sqrt(v));
        break;
      case "moving_variance":
        fill(() => uniform(RANDOM_RANGES.moving_variance) * v);
        break;
      default:
        fill(() => uniform(RANDOM_RANGES[p.init as Exclude<ParameterSpec["init"], "kernel">]));
    }
    out.set(p.name, { dims: p.dims, data });
  }
  return out;
}
