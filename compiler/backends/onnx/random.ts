import { channelsIn } from "../../language/ir/geometry.js";
import type { IRGraph, IRNode } from "../../language/ir/types.js";
import { onnxOps } from "./lower.js";
import { afterActivation, RANDOM_RANGES, type MomentInputs } from "./moments.js";
import { onnxParameters, type ParameterSpec } from "./parameters.js";
import type { OnnxTensor } from "./tensor.js";
import { mulberry32 } from "../../util/random.js";

export { RANDOM_RANGES } from "./moments.js";

/** Seeded uniform numbers in [0, 1) (mulberry32): the same seed gives the same model. */
export const rng = mulberry32;

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
  for (const node of graph.nodes) {
    const ins = node.inputs.map((i) => m[i]!);
    // TypeScript cannot correlate onnxOps[node.op] with node's own type: the table's type does.
    const moment = onnxOps[node.op].moment as (n: IRNode, m: MomentInputs) => number;
    const y = moment(node, { graph, ins, x: ins[0] ?? 1, cin: channelsIn(graph, node) });
    // The activation a node ends in (act, conv, sepconv, dense); a sepconv's mid is applied above.
    const fn = "activation" in node.attrs ? node.attrs.activation : "none";
    m.push(afterActivation(fn, y));
  }
  return m;
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
