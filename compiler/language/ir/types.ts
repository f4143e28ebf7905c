import type { Activation } from "./activationNames.js";

/** A plain JSON value: how argument values travel in the IR (elaborate/values.ts makes them). */
export type Json = number | string | boolean | null | Json[] | { [k: string]: Json };

/** The elaborated network: a DAG in topological order, every shape and cost known. */

export interface Params {
  readonly trainable: number;
  readonly nonTrainable: number;
}

export interface SourceRef {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** A stretch of spec text: where it starts and where it ends (exclusive). */
export interface SourceSpan extends SourceRef {
  readonly endLine: number;
  readonly endColumn: number;
}

/**
 * One block call a node came from. Emitters that group layers by block (PyTorch classes, graph
 * clusters, editor hovers) read these, never the layer names.
 */
export interface BlockCall {
  /** The block's declared name: the definition this call instantiates. */
  readonly block: string;
  /** The instance's segment of its nodes' names (`stage_1`, `entry_2`), unique in its caller. */
  readonly instance: string;
  /** Where the call is written. */
  readonly call: SourceSpan;
  /** The block's arguments at this call, defaults included. */
  readonly args: Readonly<Record<string, Json>>;
}

export interface NodeBase<Op extends string, Attrs> {
  readonly id: number;
  /** Stable, unique, derived from the spec: block instance path plus layer. */
  readonly name: string;
  readonly op: Op;
  readonly attrs: Attrs;
  readonly inputs: readonly number[];
  /** Output shape without the batch dimension: [h, w, c] or [features]. */
  readonly shape: readonly number[];
  readonly params: Params;
  /** Multiply-accumulates for one example. */
  readonly macs: number;
  readonly source: SourceRef;
  /**
   * The chain of block calls the node came from, outermost first; empty for a layer the network
   * writes itself. Nodes of one call share its entry.
   */
  readonly blocks: readonly BlockCall[];
}

export type Padding = "same" | "valid";

/**
 * Explicit padding, [top, bottom, left, right] pixels (`pad = ...` in the language). A layer that
 * has it pads first and then runs with `padding: "valid"`: zeros for convolutions and average
 * pooling (which counts them, as PyTorch's count_include_pad), -infinity for max pooling.
 */
export type Pads = readonly [number, number, number, number];

export interface ConvAttrs {
  readonly filters: number;
  readonly kernel: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly padding: Padding;
  readonly dilation: readonly [number, number];
  /** Explicit padding, then `padding` is "valid"; absent for TensorFlow's same/valid. */
  readonly pads?: Pads;
  /** The partition count: 1 is a regular conv, input channels is depthwise. */
  readonly groups: number;
  readonly useBias: boolean;
  readonly activation: Activation;
}

export interface SepConvAttrs extends ConvAttrs {
  /** Activation between the spatial and the pointwise step. */
  readonly mid: Activation;
  readonly order: "spatial_first" | "pointwise_first";
  /** Spatial-step output channels per input channel (spatial-first only). */
  readonly multiplier: number;
  /**
   * Channels the spatial step reads, which `groups` partitions: the input's for spatial_first,
   * `filters` for pointwise_first. `groups === spatialChannels` is depthwise.
   */
  readonly spatialChannels: number;
}

export interface BnAttrs {
  readonly epsilon: number;
  readonly momentum: number;
  readonly scale: boolean;
  readonly center: boolean;
}

/** Layer normalisation over the last axis (channels); no running statistics. */
export interface LayerNormAttrs {
  readonly epsilon: number;
  readonly scale: boolean;
  readonly center: boolean;
}

export interface PoolAttrs {
  readonly pool: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly padding: Padding;
  /** Explicit padding, then `padding` is "valid"; each side smaller than the window. */
  readonly pads?: Pads;
  /**
   * PyTorch's ceil_mode (present only when set, always with `pads`): the output size rounds up,
   * so a last window may run past the padded input, provided it starts inside the input or the
   * top/left padding (ir/geometry.ts: `ceilPads`, `poolDivisors`).
   */
  readonly ceil?: true;
}

export type IRNode =
  | NodeBase<"input", Record<string, never>>
  | NodeBase<"conv", ConvAttrs>
  | NodeBase<"sepconv", SepConvAttrs>
  | NodeBase<"bn", BnAttrs>
  | NodeBase<"layernorm", LayerNormAttrs>
  /** A learnable multiplier per channel, each starting at `init` (layer scale). */
  | NodeBase<"layerscale", { readonly init: number }>
  | NodeBase<"act", { readonly activation: Activation }>
  | NodeBase<"maxpool", PoolAttrs>
  | NodeBase<"avgpool", PoolAttrs>
  | NodeBase<"gap", Record<string, never>>
  | NodeBase<"gmp", Record<string, never>>
  | NodeBase<
      "dense",
      { readonly units: number; readonly useBias: boolean; readonly activation: Activation }
    >
  | NodeBase<"dropout", { readonly rate: number }>
  /**
   * Stochastic depth, torchvision's "row" mode: in training each example is zeroed with
   * probability `rate`, else divided by 1 - rate; the identity at inference.
   */
  | NodeBase<"droppath", { readonly rate: number }>
  | NodeBase<"flatten", Record<string, never>>
  | NodeBase<"concat", Record<string, never>>
  | NodeBase<"add", Record<string, never>>
  /** The element-wise product; a [c] or [1, 1, c] input scales every position (joins.ts). */
  | NodeBase<"mul", Record<string, never>>
  /** Channel shuffle: output channel j * groups + i is input channel i * (c / groups) + j. */
  | NodeBase<"shuffle", { readonly groups: number }>
  /** Channels [start, start + size) of the input: one part of a channel split (`split`). */
  | NodeBase<"split", { readonly start: number; readonly size: number }>
  /** Nearest-neighbour upsampling: each pixel repeated factor[0] x factor[1] times. */
  | NodeBase<"upsample", { readonly factor: readonly [number, number] }>
  | NodeBase<"zeropad", { readonly pads: Pads }>;

/**
 * Every op the IR has: the `op` of the node types above, so adding an op is one more member of
 * `IRNode` (compiler/README.md, "Adding an op", lists what the compiler then asks for).
 */
export type OpName = IRNode["op"];

export type NodeOf<Op extends OpName> = Extract<IRNode, { op: Op }>;

/**
 * One entry per op: how a backend lowers (counts, prints...) each of them. A backend keeps its op
 * handling in one such table, so an op added to OpName is a compile error in every backend until
 * each says what the op means there; `byOp` calls the entry for a node.
 */
export type OpTable<R, Extra extends readonly unknown[] = []> = {
  readonly [Op in OpName]: (node: NodeOf<Op>, ...extra: Extra) => R;
};

/** The table's entry for `node`, called. */
export function byOp<R, Extra extends readonly unknown[]>(
  table: OpTable<R, Extra>,
  node: IRNode,
  ...extra: Extra
): R {
  // TypeScript cannot correlate table[node.op] with node's own type: the table's type does.
  const entry = table[node.op] as (node: IRNode, ...extra: Extra) => R;
  return entry(node, ...extra);
}

export interface IRGraph {
  readonly format: "archc-ir";
  readonly version: 1;
  readonly network: string;
  /** The network's arguments after defaults and --set. */
  readonly args: Readonly<Record<string, Json>>;
  readonly input: readonly number[];
  readonly output: number;
  readonly nodes: readonly IRNode[];
  /** Every activation the nodes use, with its constants (see ir/activations.ts). */
  readonly activations: Readonly<Partial<Record<Activation, Readonly<Record<string, number>>>>>;
  readonly totals: { readonly params: Params & { readonly total: number }; readonly macs: number };
}
