import type * as tf from "@tensorflow/tfjs";
import type { IRGraph } from "../../language/ir/types.js";
import type { OnnxTensor } from "./tensor.js";

// Only types from tfjs: the exporter takes a tfjs model without loading tfjs itself, so ONNX
// export and onnxruntime runs stay free of tfjs' start-up cost when weights come from elsewhere.

/** Transposes a row-major 4-D array: output axis k is input axis perm[k] (numpy's transpose). */
function permute4(data: Float32Array, shape: readonly number[], perm: readonly number[]) {
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
  return { className: layer.getClassName(), raw, get, has: (short: string) => byName.has(short) };
}

/** A spatial convolution layer's kernel in OIHW, whichever tfjs layer class it became. */
function spatialKernel(l: ReturnType<typeof layerWeights>): OnnxTensor {
  return l.className === "DepthwiseConv2D"
    ? depthwiseToOihw(l.raw("depthwise_kernel"))
    : hwioToOihw(l.raw("kernel"));
}

/**
 * The weights of a tfjs model built by buildModelFromIR from the same graph, as ONNX
 * initializers (names and layouts of `onnxParameters`), layer by layer name. Reads, never
 * disposes: the model stays usable.
 */
export function weightsFromTfjs(model: tf.LayersModel, graph: IRGraph): Map<string, OnnxTensor> {
  const out = new Map<string, OnnxTensor>();
  for (const node of graph.nodes) {
    const name = node.name;
    switch (node.op) {
      case "conv": {
        const l = layerWeights(model, name);
        out.set(`${name}/kernel`, spatialKernel(l));
        if (node.attrs.useBias) out.set(`${name}/bias`, l.get("bias"));
        break;
      }
      case "sepconv": {
        // Fused into one SeparableConv2D where tfjs can, else NAME/spatial and NAME/pointwise.
        const fused = model.layers.find((l) => l.name === name);
        if (fused) {
          const l = layerWeights(model, name);
          out.set(`${name}/spatial/kernel`, depthwiseToOihw(l.raw("depthwise_kernel")));
          out.set(`${name}/pointwise/kernel`, hwioToOihw(l.raw("pointwise_kernel")));
          if (node.attrs.useBias) out.set(`${name}/bias`, l.get("bias"));
          break;
        }
        const spatial = layerWeights(model, `${name}/spatial`);
        const pointwise = layerWeights(model, `${name}/pointwise`);
        out.set(`${name}/spatial/kernel`, spatialKernel(spatial));
        out.set(`${name}/pointwise/kernel`, hwioToOihw(pointwise.raw("kernel")));
        if (node.attrs.useBias) {
          const last = node.attrs.order === "spatial_first" ? pointwise : spatial;
          out.set(`${name}/bias`, last.get("bias"));
        }
        break;
      }
      case "bn": {
        const l = layerWeights(model, name);
        for (const w of ["gamma", "beta", "moving_mean", "moving_variance"])
          if (l.has(w)) out.set(`${name}/${w}`, l.get(w));
        break;
      }
      case "dense": {
        const l = layerWeights(model, name);
        out.set(`${name}/kernel`, l.get("kernel"));
        if (node.attrs.useBias) out.set(`${name}/bias`, l.get("bias"));
        break;
      }
      default:
        break;
    }
  }
  return out;
}
