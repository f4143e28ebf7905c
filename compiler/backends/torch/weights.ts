import type { IRGraph } from "../../language/ir/types.js";
import type { OnnxTensor } from "../onnx/tensor.js";
import { torchModulePaths } from "./emit.js";

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
  const paths = torchModulePaths(graph);
  const out = new Map<string, OnnxTensor>();
  const take = (from: string, to: string) => {
    const t = onnx.get(from);
    if (!t) throw new Error(`the weights have no ${from}: they were not made for this network`);
    out.set(to, t);
  };
  for (const node of graph.nodes) {
    const p = paths.get(node.id);
    if (p === undefined) continue;
    const n = node.name;
    switch (node.op) {
      case "conv":
        take(`${n}/kernel`, `${p}.weight`);
        if (node.attrs.useBias) take(`${n}/bias`, `${p}.bias`);
        break;
      case "sepconv":
        take(`${n}/spatial/kernel`, `${p}.spatial.weight`);
        take(`${n}/pointwise/kernel`, `${p}.pointwise.weight`);
        if (node.attrs.useBias)
          take(
            `${n}/bias`,
            node.attrs.order === "spatial_first" ? `${p}.pointwise.bias` : `${p}.spatial.bias`,
          );
        break;
      case "bn": {
        const names: [string, string][] = [
          ["gamma", "weight"],
          ["beta", "bias"],
          ["moving_mean", "running_mean"],
          ["moving_variance", "running_var"],
        ];
        for (const [from, to] of names)
          if (onnx.has(`${n}/${from}`)) take(`${n}/${from}`, `${p}.${to}`);
        break;
      }
      case "dense": {
        const k = onnx.get(`${n}/kernel`);
        if (!k)
          throw new Error(`the weights have no ${n}/kernel: they were not made for this network`);
        const [rows, cols] = [k.dims[0]!, k.dims[1]!];
        const t = new Float32Array(k.data.length);
        for (let i = 0; i < rows; i++)
          for (let j = 0; j < cols; j++) t[j * rows + i] = k.data[i * cols + j]!;
        out.set(`${p}.weight`, { dims: [cols, rows], data: t });
        if (node.attrs.useBias) take(`${n}/bias`, `${p}.bias`);
        break;
      }
      default:
        break;
    }
  }
  return out;
}

/**
 * The safetensors format (an 8-byte little-endian header length, a JSON header, the raw data):
 * what PyTorch users exchange weights in, and simple enough that the generated module reads it
 * with json and struct alone.
 */
export function safetensors(
  tensors: ReadonlyMap<string, OnnxTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  const names = [...tensors.keys()].sort();
  for (const name of names) {
    const t = tensors.get(name)!;
    header[name] = {
      dtype: "F32",
      shape: t.dims,
      data_offsets: [offset, offset + t.data.length * 4],
    };
    offset += t.data.length * 4;
  }
  let json = JSON.stringify(header);
  // The data starts 8-byte aligned, as the format recommends.
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + head.length + offset);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  let pos = 8 + head.length;
  for (const name of names) {
    const d = tensors.get(name)!.data;
    Buffer.from(d.buffer, d.byteOffset, d.byteLength).copy(out, pos);
    pos += d.byteLength;
  }
  return out;
}
