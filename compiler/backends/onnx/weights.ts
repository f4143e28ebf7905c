import type * as tf from "@tensorflow/tfjs";
import type { IRGraph } from "../../language/ir/types.js";
import { type LayerKind, planModel } from "../tfjs/plan.js";
import { parameterName } from "./parameterNames.js";
import type { OnnxTensor } from "./tensor.js";

// Only types from tfjs: the exporter takes a tfjs model without loading tfjs itself, so ONNX
// export and onnxruntime runs stay free of tfjs' start-up cost when weights come from elsewhere.

/** Transposes a row-major 4-D array: output axis k is input axis perm[k] (numpy's transpose). */
export function permute4(data: Float32Array, shape: readonly number[], perm: readonly number[]) {
  const dims = perm.map((p) => shape[p]!);
  const stride = [shape[1]! * shape[2]! * shape[3]!, shape[2]! * shape[3]!, shape[3]!, 1];
  const s = perm.map((p) => stride[p]!);
  const out = new Float32Array(data.length);
  let o = 0;
  for (let a = 0; a < dims[0]!; a++)
    for (let b = 0; b < dims[1]!; b++)
      for (let c = 0; c < dims[2]!; c++) {
        const base = a * s[0]! + b * s[1]! + c * s[2]!;
        for (let d = 0; d < dims[3]!; d++) out[o++] = data[base + d * s[3]!]!;
      }
  return { dims, data: out };
}

/** Conv2D / GroupedConv2D kernel, HWIO [kh, kw, cin/groups, filters], to OIHW. */
const hwioToOihw = (w: OnnxTensor): OnnxTensor => permute4(w.data, w.dims, [3, 2, 0, 1]);

/**
 * DepthwiseConv2D kernel [kh, kw, cin, m] to a grouped Conv's [cin * m, 1, kh, kw]: tfjs' output
 * channel c * m + j is ONNX group c's j-th filter, so the order is [cin, m, kh, kw] flattened.
 */
function depthwiseToOihw(w: OnnxTensor): OnnxTensor {
  const t = permute4(w.data, w.dims, [2, 3, 0, 1]);
  return { dims: [t.dims[0]! * t.dims[1]!, 1, t.dims[2]!, t.dims[3]!], data: t.data };
}

/** A tfjs layer's weights by their own short names (kernel, bias, gamma...). */
function layerWeights(model: tf.LayersModel, name: string) {
  let layer: tf.layers.Layer;
  try {
    layer = model.getLayer(name);
  } catch {
    throw new Error(`the tfjs model has no layer '${name}': it was not built from this network`);
  }
  const byName = new Map<string, tf.LayerVariable>();
  for (const w of layer.weights) {
    // originalName is `layer/name/kernel`; layer names contain slashes, weight names do not.
    byName.set(w.originalName.slice(w.originalName.lastIndexOf("/") + 1), w);
  }
  /** The weight as stored, possibly the backend's live buffer: to be permuted, not kept. */
  const raw = (short: string): OnnxTensor => {
    const w = byName.get(short);
    if (!w) throw new Error(`tfjs layer '${name}' has no weight '${short}'`);
    const t = w.read();
    return { dims: t.shape, data: t.dataSync() as Float32Array };
  };
  // A copy: on the cpu backend dataSync is the live buffer, which training would change.
  const get = (short: string): OnnxTensor => {
    const w = raw(short);
    return { dims: w.dims, data: new Float32Array(w.data) };
  };
  return { raw, get, has: (short: string) => byName.has(short) };
}

type LayerWeights = ReturnType<typeof layerWeights>;

/** A normalisation's or scale's vectors, each where the layer has it. */
const normalization = (l: LayerWeights): [string, OnnxTensor][] =>
  ["gamma", "beta", "moving_mean", "moving_variance"]
    .filter((w) => l.has(w))
    .map((w) => [w, l.get(w)]);

/**
 * Each planned layer kind's weights in ONNX's layout, by weight name (`kernel`, `gamma`...; a
 * separable convolution's two kernels by their part); null for a layer without weights. The
 * layer's bias, wherever it has one, is read apart.
 */
const kernelReaders: Readonly<
  Record<LayerKind, ((l: LayerWeights) => [string, OnnxTensor][]) | null>
> = {
  conv2d: (l) => [["kernel", hwioToOihw(l.raw("kernel"))]],
  groupedConv2d: (l) => [["kernel", hwioToOihw(l.raw("kernel"))]],
  depthwiseConv2d: (l) => [["kernel", depthwiseToOihw(l.raw("depthwise_kernel"))]],
  // One tfjs layer for both steps of the node.
  separableConv2d: (l) => [
    ["spatial/kernel", depthwiseToOihw(l.raw("depthwise_kernel"))],
    ["pointwise/kernel", hwioToOihw(l.raw("pointwise_kernel"))],
  ],
  dense: (l) => [["kernel", l.get("kernel")]],
  batchNormalization: normalization,
  layerNormalization: normalization,
  layerScale: normalization,
  input: null,
  activation: null,
  leakyReLU: null,
  hardSwish: null,
  hSigmoid: null,
  maxPooling2d: null,
  averagePooling2d: null,
  globalAveragePooling2d: null,
  globalMaxPooling2d: null,
  flatten: null,
  dropout: null,
  concatenate: null,
  add: null,
  multiply: null,
  reshape: null,
  channelShuffle: null,
  upSampling2d: null,
  zeroPadding2d: null,
  maxPadding2d: null,
  dropPath: null,
  poolDivisor: null,
  channelSlice: null,
};

/**
 * The weights of a tfjs model built by buildModelFromIR from the same graph, as ONNX
 * initializers (names and layouts of `onnxParameters`). It walks the graph's layer plan, the
 * one the model was built from: each planned layer names the node and the part of it (`role`)
 * it holds weights for, and its kind says how tfjs lays them out. Reads, never disposes: the
 * model stays usable.
 */
export function weightsFromTfjs(model: tf.LayersModel, graph: IRGraph): Map<string, OnnxTensor> {
  const out = new Map<string, OnnxTensor>();
  const nodes = new Map(graph.nodes.map((n) => [n.name, n]));
  for (const layer of planModel(graph).layers) {
    const node = nodes.get(layer.node)!;
    const name = String(layer.config["name"]);
    const part = layer.role === "spatial" || layer.role === "pointwise" ? layer.role : "layer";
    const read = kernelReaders[layer.kind];
    if (!read) continue;
    const l = layerWeights(model, name);
    for (const [weight, t] of read(l)) out.set(parameterName(node.name, weight, part), t);
    // The plan puts a node's bias on whichever of its layers comes last; ONNX has one per node.
    if (layer.config["useBias"] === true) out.set(parameterName(node.name, "bias"), l.get("bias"));
  }
  return out;
}
