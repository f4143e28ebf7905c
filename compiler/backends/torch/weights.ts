import type { IRGraph, IRNode } from "../../language/ir/types.js";
import type { OnnxTensor } from "../onnx/tensor.js";
import { torchModulePaths } from "./emit.js";
import type { StateDictName } from "./layer.js";
import { torchOps } from "./ops.js";

export type { StateDictName } from "./layer.js";
import { encodeSafetensors, rawFloat32 } from "./safetensors.js";

/**
 * The weights of a network under the generated module's state-dict keys, from the ONNX
 * parameters (onnx/weights.ts: the tfjs weights by IR name, kernels already OIHW as PyTorch
 * wants them). The mapping, by IR node `NAME` whose module path is `P` (NAME with `/` as `.`):
 *
 * | IR parameter                    | state-dict key                                  |
 * | ------------------------------- | ----------------------------------------------- |
 * | conv `NAME/kernel`, `NAME/bias` | `P.weight`, `P.bias`                            |
 * | sepconv `NAME/spatial/kernel`   | `P.spatial.weight`                              |
 * | sepconv `NAME/pointwise/kernel` | `P.pointwise.weight`                            |
 * | sepconv `NAME/bias`             | `P.pointwise.bias` (`P.spatial.bias` if 1x1 first) |
 * | bn gamma, beta                  | `P.weight`, `P.bias`                            |
 * | bn moving_mean, moving_variance | `P.running_mean`, `P.running_var`               |
 * | dense `NAME/kernel` [in, out]   | `P.weight` [out, in] (transposed)               |
 */
export function torchStateDict(
  graph: IRGraph,
  onnx: ReadonlyMap<string, OnnxTensor>,
): Map<string, OnnxTensor> {
  const out = new Map<string, OnnxTensor>();
  for (const m of stateDictNames(graph)) {
    const t = onnx.get(m.onnx);
    if (!t) {
      // Batch-norm vectors exist only with scale / center; the rest is the network's own.
      if (m.optional) continue;
      throw new Error(`the weights have no ${m.onnx}: they were not made for this network`);
    }
    out.set(m.torch, m.transpose ? transpose2(t) : t);
  }
  return out;
}

/**
 * The inverse of torchStateDict: a state dict (the generated module's keys) as the ONNX
 * parameters, for exporting a torch-engine run to ONNX or tfjs. Keys the network lacks, or
 * missing ones, are an Error naming them.
 */
export function onnxFromStateDict(
  graph: IRGraph,
  state: ReadonlyMap<string, OnnxTensor>,
): Map<string, OnnxTensor> {
  const out = new Map<string, OnnxTensor>();
  const used = new Set<string>();
  for (const m of stateDictNames(graph)) {
    const t = state.get(m.torch);
    if (!t) {
      if (m.optional) continue;
      throw new Error(`the weights have no ${m.torch}: they were not made for this network`);
    }
    used.add(m.torch);
    out.set(m.onnx, m.transpose ? transpose2(t) : t);
  }
  const extra = [...state.keys()].filter((k) => !used.has(k));
  if (extra.length)
    throw new Error(
      `the weights hold ${extra.slice(0, 3).join(", ")}${extra.length > 3 ? ` and ${extra.length - 3} more` : ""}, which this network does not have: they were made for another network`,
    );
  return out;
}

/** The naming contract between the ONNX parameters and the generated module's state dict. */
export function stateDictNames(graph: IRGraph): StateDictName[] {
  const paths = torchModulePaths(graph);
  return graph.nodes.flatMap((node) => {
    const p = paths.get(node.id);
    if (p === undefined) return [];
    // TypeScript cannot correlate torchOps[node.op] with node's own type: the table's type does.
    const entries = torchOps[node.op].stateDict as (n: IRNode, path: string) => StateDictName[];
    return entries(node, p);
  });
}

function transpose2(k: OnnxTensor): OnnxTensor {
  const [rows, cols] = [k.dims[0]!, k.dims[1]!];
  const t = new Float32Array(k.data.length);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) t[j * rows + i] = k.data[i * cols + j]!;
  return { dims: [cols, rows], data: t };
}

/**
 * A state dict as a safetensors file (safetensors.ts), with its archc checksum: what
 * `compile --target torch --weights` writes and the generated `load_weights` reads.
 */
export function safetensors(
  tensors: ReadonlyMap<string, OnnxTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  return encodeSafetensors(
    new Map([...tensors].map(([k, t]) => [k, rawFloat32(t.dims, t.data)])),
    metadata,
  );
}
