import * as tf from "@tensorflow/tfjs";
import type { IRGraph } from "../../language/ir/types.js";
import { GroupedConv2D } from "./grouped/index.js";
import { planModel, type LayerPlan, type PlannedLayer, type PlanOptions } from "./plan.js";

/** A layer that tfjs refused; says which layer and which backend, never a tfjs stack trace. */
export class ModelBuildError extends Error {
  constructor(
    readonly layer: string,
    readonly backend: string,
    reason: string,
  ) {
    super(`cannot build layer '${layer}' on the ${backend} backend: ${reason}`);
  }
}

type Factory = (config: Record<string, unknown>) => tf.layers.Layer;

// tfjs' factories take typed configs; the plan holds plain values of the same shape.
const factories: Record<Exclude<PlannedLayer["kind"], "input">, Factory> = {
  conv2d: (c) => tf.layers.conv2d(c as never),
  depthwiseConv2d: (c) => tf.layers.depthwiseConv2d(c as never),
  separableConv2d: (c) => tf.layers.separableConv2d(c as never),
  groupedConv2d: (c) => new GroupedConv2D(c as never),
  batchNormalization: (c) => tf.layers.batchNormalization(c as never),
  activation: (c) => tf.layers.activation(c as never),
  leakyReLU: (c) => tf.layers.leakyReLU(c as never),
  maxPooling2d: (c) => tf.layers.maxPooling2d(c as never),
  averagePooling2d: (c) => tf.layers.averagePooling2d(c as never),
  globalAveragePooling2d: (c) => tf.layers.globalAveragePooling2d(c as never),
  globalMaxPooling2d: (c) => tf.layers.globalMaxPooling2d(c as never),
  flatten: (c) => tf.layers.flatten(c as never),
  dense: (c) => tf.layers.dense(c as never),
  dropout: (c) => tf.layers.dropout(c as never),
  concatenate: (c) => tf.layers.concatenate(c as never),
  add: (c) => tf.layers.add(c as never),
};

/** Instantiates a layer plan as a tfjs LayersModel on the active backend. */
export function instantiatePlan(plan: LayerPlan): tf.LayersModel {
  const tensors = new Map<string, tf.SymbolicTensor>();
  for (const layer of plan.layers) {
    const config = { ...layer.config } as Record<string, unknown>;
    try {
      if (layer.kind === "input") {
        tensors.set(layer.id, tf.input(config as never));
        continue;
      }
      const ins = layer.inputs.map((i) => tensors.get(i)!);
      const out = factories[layer.kind](config).apply(
        ins.length === 1 ? ins[0]! : ins,
      ) as tf.SymbolicTensor;
      tensors.set(layer.id, out);
    } catch (e) {
      throw new ModelBuildError(
        String(layer.config["name"]),
        tf.getBackend(),
        e instanceof Error ? e.message.split("\n")[0]! : String(e),
      );
    }
  }
  return tf.model({
    inputs: tensors.get(plan.input)!,
    outputs: tensors.get(plan.output)!,
    name: plan.network,
  });
}

/**
 * Builds a tfjs LayersModel from an IR graph. Layer names are the IR's names (block path plus
 * layer); a separable convolution that tfjs cannot fuse becomes `NAME/spatial`, `NAME/mid` and
 * `NAME/pointwise`.
 */
export function buildModelFromIR(graph: IRGraph, opts: PlanOptions = {}): tf.LayersModel {
  return instantiatePlan(planModel(graph, opts));
}
