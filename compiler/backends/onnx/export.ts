import type * as tf from "@tensorflow/tfjs";
import type { IRGraph } from "../../language/ir/types.js";
import { Builder, ints } from "./builder.js";
import { lowerGraph } from "./lower.js";
import { DataType, encodeModel, type ValueInfoMsg } from "./proto.js";
import { randomWeights } from "./random.js";
import type { OnnxWeights } from "./tensor.js";
import { weightsFromTfjs } from "./weights.js";

/**
 * Opset 13: Conv with `group`, Softmax over one axis (not the old flattened-2D form), Clip with
 * tensor bounds; every runtime and the official checker of Debian's onnx 1.12 accept it.
 * IR version 7 is the one that opset 13 was released with.
 */
export const OPSET = 13;
export const IR_VERSION = 7;

export type { OnnxTensor, OnnxWeights } from "./tensor.js";
export { onnxParameters, type ParameterSpec } from "./parameters.js";
export { parameterName } from "./parameterNames.js";
export { randomWeights, RANDOM_RANGES } from "./random.js";
export { tfPads } from "./padding.js";

export interface ExportOptions {
  /**
   * `nhwc` (default): the model takes [N, H, W, C], as the tfjs model does and as images are
   * stored, and transposes to NCHW once; image-shaped outputs are transposed back. `nchw`: the
   * model takes ONNX's native [N, C, H, W] and returns NCHW, for pipelines that already have it.
   */
  readonly inputLayout?: "nhwc" | "nchw";
  /** Seed of the random weights used when `weights` is undefined (default 1; see random.ts). */
  readonly seed?: number;
  readonly docString?: string;
}

/**
 * Exports an IR graph as an ONNX model (opset 13) with `weights`: ONNX initializers (see
 * `onnxParameters`; every parameter must be present), a tfjs model built from the same graph
 * (read with `weightsFromTfjs`), or undefined for seeded random weights (`randomWeights`: Glorot
 * kernels, drawn biases and batch-norm parameters and statistics) from `opts.seed`.
 * Inside, the model is NCHW, ONNX's native layout, so Conv runs without layout conversions;
 * partitioned convolutions are Conv with `group`, and TensorFlow's 'same' padding is explicit,
 * asymmetric pads computed per layer from its input size.
 */
export function exportOnnx(
  graph: IRGraph,
  weights: OnnxWeights | tf.LayersModel | undefined,
  opts: ExportOptions = {},
): Uint8Array {
  const nhwc = (opts.inputLayout ?? "nhwc") === "nhwc";
  const w =
    weights === undefined
      ? randomWeights(graph, opts.seed ?? 1)
      : isLayersModel(weights)
        ? weightsFromTfjs(weights, graph)
        : weights;
  const b = new Builder(w);
  const final = lowerGraph(b, graph, nhwc);
  const image = final.shape.length === 3;
  if (image && nhwc)
    b.node("Transpose", [final.name], "output/nhwc", [ints("perm", [0, 2, 3, 1])], "output");
  else b.node("Identity", [final.name], "output/identity", [], "output");

  const dim = (v: number | string) => (typeof v === "number" ? { dim_value: v } : { dim_param: v });
  const valueInfo = (name: string, shape: readonly number[]): ValueInfoMsg => {
    const s = shape.length === 3 && !nhwc ? [shape[2]!, shape[0]!, shape[1]!] : shape;
    return {
      name,
      type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: ["N", ...s].map(dim) } } },
    };
  };
  return encodeModel({
    ir_version: IR_VERSION,
    opset_import: [{ domain: "", version: OPSET }],
    producer_name: "archc",
    producer_version: "0.1.0",
    doc_string:
      opts.docString ??
      `${graph.network}: input ${nhwc ? "NHWC" : "NCHW"} [N, ${graph.input.join(", ")}]`,
    graph: {
      name: graph.network,
      node: b.nodes,
      initializer: b.initializers,
      input: [valueInfo("input", graph.input)],
      output: [valueInfo("output", final.shape)],
    },
  });
}

function isLayersModel(w: OnnxWeights | tf.LayersModel): w is tf.LayersModel {
  return typeof (w as { getLayer?: unknown }).getLayer === "function";
}
