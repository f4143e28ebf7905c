import * as tf from "@tensorflow/tfjs";
import type { IRGraph } from "../../language/ir/types.js";
import { planModel } from "../tfjs/plan.js";
import { parameterName, type KernelPart } from "./parameterNames.js";
import type { OnnxTensor } from "./tensor.js";
import { permute4 } from "./weights.js";

/**
 * The inverse of weightsFromTfjs: writes ONNX parameters (a torch-engine run's weights, say)
 * into a tfjs model built by buildModelFromIR from the same graph, undoing each layout change.
 * Every weight is checked first and nothing is written unless all fit.
 */
export function weightsIntoTfjs(
  model: tf.LayersModel,
  graph: IRGraph,
  weights: ReadonlyMap<string, OnnxTensor>,
): void {
  const nodes = new Map(graph.nodes.map((n) => [n.name, n]));
  const writes: { variable: tf.LayerVariable; data: Float32Array }[] = [];
  for (const layer of planModel(graph).layers) {
    const node = nodes.get(layer.node)!;
    const name = String(layer.config["name"]);
    const part = layer.role === "spatial" || layer.role === "pointwise" ? layer.role : "layer";
    let l: tf.layers.Layer;
    try {
      l = model.getLayer(name);
    } catch {
      continue;
    }
    for (const variable of l.weights) {
      const short = variable.originalName.slice(variable.originalName.lastIndexOf("/") + 1);
      const shape = variable.shape as number[];
      const from = (weight: string, p: KernelPart = part) => {
        const key = parameterName(node.name, weight, p);
        const t = weights.get(key);
        if (!t) throw new Error(`the weights have no ${key}: they were not made for this network`);
        return t;
      };
      let data: Float32Array;
      if (short === "kernel" && shape.length === 4) {
        // OIHW back to HWIO: [O, I, H, W] -> [H, W, I, O].
        data = permute4(from("kernel").data, from("kernel").dims, [2, 3, 1, 0]).data;
      } else if (short === "depthwise_kernel" || short === "pointwise_kernel") {
        const p: KernelPart =
          layer.kind === "separableConv2d"
            ? short === "depthwise_kernel"
              ? "spatial"
              : "pointwise"
            : part;
        const t = from("kernel", p);
        if (short === "pointwise_kernel") data = permute4(t.data, t.dims, [2, 3, 1, 0]).data;
        else {
          // [cin * m, 1, kh, kw] is [cin, m, kh, kw]; tfjs holds [kh, kw, cin, m].
          const [kh, kw, cin, m] = shape as [number, number, number, number];
          data = permute4(t.data, [cin, m, kh, kw], [2, 3, 0, 1]).data;
        }
      } else data = from(short).data;
      const want = shape.reduce((a, b) => a * b, 1);
      if (data.length !== want)
        throw new Error(
          `the weights hold ${data.length} values for ${variable.originalName}, whose shape [${shape.join(", ")}] takes ${want}: they were made for another network`,
        );
      writes.push({ variable, data });
    }
  }
  for (const { variable, data } of writes) {
    const t = tf.tensor(data, variable.shape as number[]);
    variable.write(t);
    t.dispose();
  }
}
