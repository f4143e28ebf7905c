import * as tf from "@tensorflow/tfjs";
import { paddedInput, partitionedChannels } from "../../language/ir/geometry.js";
import type { IRGraph } from "../../language/ir/types.js";
import {
  chooseUnderBudget,
  GroupedConv2D,
  type BudgetChoice,
  type ConvShape,
  type Mode,
  type StrategyName,
} from "./grouped/index.js";
import { FusedTrainingBatchNorm } from "./batchNorm.js";
import { HardSwish, HSigmoid } from "./hardActivations.js";
import { ChannelShuffle } from "./shuffle.js";
import { DropPath, LayerScale } from "./residualBranch.js";
import { MaxPadding2D } from "./padding.js";
import { PoolDivisor } from "./poolDivisor.js";
import { ChannelSlice } from "./slice.js";
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
  batchNormalization: (c) => new FusedTrainingBatchNorm(c),
  layerNormalization: (c) => tf.layers.layerNormalization(c as never),
  layerScale: (c) => new LayerScale(c as never),
  activation: (c) => tf.layers.activation(c as never),
  leakyReLU: (c) => tf.layers.leakyReLU(c as never),
  hardSwish: (c) => new HardSwish(c as never),
  hSigmoid: (c) => new HSigmoid(c as never),
  maxPooling2d: (c) => tf.layers.maxPooling2d(c as never),
  averagePooling2d: (c) => tf.layers.averagePooling2d(c as never),
  globalAveragePooling2d: (c) => tf.layers.globalAveragePooling2d(c as never),
  globalMaxPooling2d: (c) => tf.layers.globalMaxPooling2d(c as never),
  flatten: (c) => tf.layers.flatten(c as never),
  dense: (c) => tf.layers.dense(c as never),
  dropout: (c) => tf.layers.dropout(c as never),
  dropPath: (c) => new DropPath(c as never),
  concatenate: (c) => tf.layers.concatenate(c as never),
  add: (c) => tf.layers.add(c as never),
  multiply: (c) => tf.layers.multiply(c as never),
  reshape: (c) => tf.layers.reshape(c as never),
  channelShuffle: (c) => new ChannelShuffle(c as never),
  upSampling2d: (c) => tf.layers.upSampling2d(c as never),
  zeroPadding2d: (c) => tf.layers.zeroPadding2d(c as never),
  maxPadding2d: (c) => new MaxPadding2D(c as never),
  poolDivisor: (c) => new PoolDivisor(c as never),
  channelSlice: (c) => new ChannelSlice(c as never),
};

/**
 * One planned layer as a tfjs layer applied to its inputs (an input layer makes the input). What
 * tfjs refuses is a ModelBuildError naming the layer.
 */
export function instantiateLayer(
  layer: PlannedLayer,
  inputs: readonly tf.SymbolicTensor[],
): tf.SymbolicTensor {
  const config = { ...layer.config } as Record<string, unknown>;
  try {
    if (layer.kind === "input") return tf.input(config as never);
    return factories[layer.kind](config).apply(
      inputs.length === 1 ? inputs[0]! : [...inputs],
    ) as tf.SymbolicTensor;
  } catch (e) {
    throw new ModelBuildError(
      String(layer.config["name"]),
      tf.getBackend(),
      e instanceof Error ? e.message.split("\n")[0]! : String(e),
    );
  }
}

/** Instantiates a layer plan as a tfjs LayersModel on the active backend. */
export function instantiatePlan(plan: LayerPlan): tf.LayersModel {
  const tensors = new Map<string, tf.SymbolicTensor>();
  for (const layer of plan.layers)
    tensors.set(
      layer.id,
      instantiateLayer(
        layer,
        layer.inputs.map((i) => tensors.get(i)!),
      ),
    );
  return tf.model({
    inputs: tensors.get(plan.input)!,
    outputs: tensors.get(plan.output)!,
    name: plan.network,
  });
}

export interface BuildOptions extends PlanOptions {
  /**
   * The batch the model will run at. With it, grouped layers get their strategies chosen for the
   * whole model at once, with memory in the cost (see chooseUnderBudget); without, each layer
   * chooses for speed alone when it first runs.
   */
  readonly batch?: number;
  /** What the batch is for: training keeps every activation for the backward pass. */
  readonly mode?: Mode;
  /** Bytes the model may use (default: memoryBudget(), from the machine and the backend). */
  readonly memoryBudget?: number;
  /** Let the cost model time strategies for unseen shapes (default true). */
  readonly calibrate?: boolean;
  /** Told what was chosen, for reports and tests. */
  readonly onStrategies?: (c: BudgetChoice & { layers: string[] }) => void;
  /**
   * Strategies the choice leaves out, as on a backend without them (e.g. `native` to compare
   * against the strategies every backend has). With a batch only; an explicit strategy wins.
   */
  readonly excludeStrategies?: readonly StrategyName[];
}

/**
 * Builds a tfjs LayersModel from an IR graph. Layer names are the IR's names (block path plus
 * layer); a separable convolution that tfjs cannot fuse becomes `NAME/spatial`, `NAME/mid` and
 * `NAME/pointwise`.
 */
export function buildModelFromIR(graph: IRGraph, opts: BuildOptions = {}): tf.LayersModel {
  return instantiatePlan(planForBuild(graph, opts));
}

/** The layer plan buildModelFromIR instantiates: with a batch, every grouped strategy pinned. */
export function planForBuild(graph: IRGraph, opts: BuildOptions = {}): LayerPlan {
  const plan = planModel(graph, opts);
  return opts.batch !== undefined && !opts.groupedStrategy
    ? withStrategies(graph, plan, opts)
    : plan;
}

/**
 * Bytes per example that training (or inference) holds beyond the grouped layers' own
 * intermediates: every layer output, several times over (its gradient, and what tfjs' ops make
 * on the way: a training batch norm makes about a dozen tensors of its input's size), plus the
 * weights with their gradients and two optimizer slots. Factors fitted to tfjs on wasm (a
 * ResNeXt-style network measured 3.38 GB at batch 32 against 3.58 GB estimated): rough, on purpose
 * on the high side.
 */
export function activationBytes(graph: IRGraph, batch: number, mode: Mode): number {
  let elements = 0;
  for (const n of graph.nodes) {
    const size = n.shape.reduce((a, b) => a * b, 1);
    elements += size * copiesHeld(n.op === "bn", mode);
  }
  return 4 * (elements * batch + graph.totals.params.total * paramCopiesHeld(mode));
}

/**
 * How many tensors the size of a layer's output a step holds for it (activationBytes' factors;
 * checkpoint.ts applies the same ones to each layer of a built model).
 */
export function copiesHeld(batchNorm: boolean, mode: Mode): number {
  return mode === "forward" ? 1 : batchNorm ? 12 : 4.5;
}

/** Copies of the weights a step holds: the weights, and in training their gradients and two optimizer slots. */
export function paramCopiesHeld(mode: Mode): number {
  return mode === "forward" ? 1 : 4;
}

/** The grouped layers' convolution shapes at `batch`, from the IR nodes they lower. */
function groupedShapes(graph: IRGraph, plan: LayerPlan, batch: number): ConvShape[] {
  const nodes = new Map(graph.nodes.map((n) => [n.name, n]));
  return plan.layers
    .filter((l) => l.kind === "groupedConv2d")
    .map((l) => {
      const node = nodes.get(l.node)!;
      if (node.op !== "conv" && node.op !== "sepconv")
        throw new Error(`internal error: grouped layer '${l.id}' lowers a ${node.op}`);
      const input = graph.nodes[node.inputs[0]!]!.shape;
      const a = node.attrs;
      // Explicit pads run as a layer before the convolution, which sees the padded input.
      const [inHeight, inWidth] = paddedInput(input, a.pads);
      return {
        batch,
        inHeight,
        inWidth,
        // A sepconv's spatial step reads its spatial channels, whichever step comes first.
        inChannels: partitionedChannels(graph, node),
        outChannels: Number(l.config["filters"]),
        kernelHeight: a.kernel[0],
        kernelWidth: a.kernel[1],
        strides: [a.strides[0], a.strides[1]],
        dilation: [a.dilation[0], a.dilation[1]],
        padding: a.padding,
        groups: a.groups,
      };
    });
}

/** The plan with every grouped layer's strategy pinned, chosen for the model as a whole. */
function withStrategies(graph: IRGraph, plan: LayerPlan, opts: BuildOptions): LayerPlan {
  const batch = opts.batch!;
  const mode = opts.mode ?? "forward";
  const shapes = groupedShapes(graph, plan, batch);
  if (!shapes.length) return plan;
  const choice = chooseUnderBudget(shapes, {
    mode,
    baseBytes: activationBytes(graph, batch, mode),
    ...(opts.memoryBudget !== undefined ? { budgetBytes: opts.memoryBudget } : {}),
    ...(opts.calibrate !== undefined ? { calibrate: opts.calibrate } : {}),
    ...(opts.excludeStrategies ? { exclude: opts.excludeStrategies } : {}),
  });
  const grouped = plan.layers.filter((l) => l.kind === "groupedConv2d");
  opts.onStrategies?.({ ...choice, layers: grouped.map((l) => String(l.config["name"])) });
  let i = 0;
  return {
    ...plan,
    layers: plan.layers.map((l) =>
      l.kind === "groupedConv2d"
        ? { ...l, config: { ...l.config, strategy: choice.strategies[i++]! } }
        : l,
    ),
  };
}
