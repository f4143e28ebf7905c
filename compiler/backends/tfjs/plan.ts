import { ceilPads, channelsIn, poolDivisors } from "../../language/ir/geometry.js";
import { type Activation, isIdentity } from "../../language/ir/activations.js";
import {
  byOp,
  type IRGraph,
  type IRNode,
  type NodeOf,
  type OpTable,
} from "../../language/ir/types.js";
import { tfActivation, tfjsActivations } from "./activations.js";

/**
 * The tfjs layers a network lowers to, as data. The runtime backend instantiates a plan and the
 * TypeScript backend prints it, so both make the same model by construction.
 */
export type LayerKind =
  | "input"
  | "conv2d"
  | "depthwiseConv2d"
  | "separableConv2d"
  | "groupedConv2d"
  | "batchNormalization"
  | "layerNormalization"
  | "layerScale"
  | "activation"
  | "leakyReLU"
  | "hardSwish"
  | "hSigmoid"
  | "maxPooling2d"
  | "averagePooling2d"
  | "globalAveragePooling2d"
  | "globalMaxPooling2d"
  | "flatten"
  | "dense"
  | "dropout"
  | "dropPath"
  | "concatenate"
  | "add"
  | "multiply"
  | "reshape"
  | "channelShuffle"
  | "upSampling2d"
  | "zeroPadding2d"
  | "maxPadding2d"
  | "poolDivisor"
  | "channelSlice";

export type ConfigValue =
  | number
  | string
  | boolean
  | readonly number[]
  /** ZeroPadding2D's [[top, bottom], [left, right]]. */
  | readonly (readonly number[])[];

/**
 * What a planned layer does for its IR node: the node itself (`layer`), one step of a separable
 * convolution that tfjs cannot fuse (`spatial`, `pointwise`, `mid`), or the activation after it
 * (`act`), or the explicit padding before its window (`pad`). With `node`, it is the naming contract every backend maps weights through: a layer's
 * weights belong to `node`, in the part `role` names, whatever the layer's name or class.
 */
export type LayerRole = "layer" | "spatial" | "pointwise" | "mid" | "act" | "pad";

export interface PlannedLayer {
  /** A JavaScript identifier for the layer's output, unique in the plan. */
  readonly id: string;
  readonly kind: LayerKind;
  /** The tfjs layer config; `name` is the stable layer name. */
  readonly config: Readonly<Record<string, ConfigValue>>;
  readonly inputs: readonly string[];
  /** The IR node this layer lowers (part of). */
  readonly node: string;
  readonly role: LayerRole;
}

export interface LayerPlan {
  readonly network: string;
  readonly layers: readonly PlannedLayer[];
  readonly input: string;
  readonly output: string;
}

export interface PlanOptions {
  /** Force one grouped-convolution strategy (else each layer's cost model chooses). */
  readonly groupedStrategy?: string;
}

export function planModel(graph: IRGraph, opts: PlanOptions = {}): LayerPlan {
  const p = new Planner(graph, opts);
  for (const node of graph.nodes) p.node(node);
  return {
    network: graph.network,
    layers: p.layers,
    input: p.ids.get(graph.nodes[0]!.id)!,
    output: p.ids.get(graph.output)!,
  };
}

/**
 * What planning reads of a graph: its nodes so far (each node's inputs come before it) and the
 * constants of its activations. Generated TypeScript's runtime plans a graph as it grows.
 */
export interface PlanSource {
  readonly nodes: readonly IRNode[];
  readonly activations: IRGraph["activations"];
}

/** Plans one node at a time, in the graph's order; `layers` grows with each. */
export class Planner {
  readonly layers: PlannedLayer[] = [];
  /** Each planned node's output: the id of its last layer, or its input's for a no-op. */
  readonly ids = new Map<number, string>();
  private readonly used = new Set<string>();

  constructor(
    private readonly graph: PlanSource,
    private readonly opts: PlanOptions = {},
  ) {}

  /** The node being lowered: every layer added is part of it. */
  private current = "";

  private add(
    kind: LayerKind,
    config: Record<string, ConfigValue>,
    inputs: readonly string[],
    role: LayerRole = "layer",
  ): string {
    const base = identifier(String(config["name"]));
    let id = base;
    for (let i = 1; this.used.has(id); i++) id = `${base}_${i}`;
    this.used.add(id);
    // The name first: it is what a reader of generated code looks for.
    const { name, ...rest } = config;
    this.layers.push({
      id,
      kind,
      config: { name: name!, ...rest },
      inputs,
      node: this.current,
      role,
    });
    return id;
  }

  private activation(x: string, activation: Activation, name: string, role: LayerRole): string {
    if (isIdentity(activation)) return x;
    const a = tfjsActivations[activation];
    if ("fn" in a) return this.add("activation", { activation: a.fn, name }, [x], role);
    if (a.layer !== "leakyReLU") return this.add(a.layer, { name }, [x], role);
    // leaky_relu is a layer of its own in tfjs; its slope comes from the IR, not tfjs' default.
    const alpha = this.graph.activations[activation]?.["alpha"];
    if (alpha === undefined)
      throw new Error(`internal error: the IR gives ${activation} no alpha for '${name}'`);
    return this.add("leakyReLU", { alpha, name }, [x], role);
  }

  /** Plans `node` after its inputs; returns the id of its output. */
  node(node: IRNode): string {
    const ins = node.inputs.map((i) => this.ids.get(i)!);
    this.current = node.name;
    const out = this.lower(node, ins);
    this.ids.set(node.id, out);
    return out;
  }

  private lower(node: IRNode, ins: string[]): string {
    return byOp(this.lowerings, node, ins);
  }

  /** Each op's tfjs layers, given the ids of the node's inputs. */
  private readonly lowerings: OpTable<string, [string[]]> = {
    input: (node) => this.add("input", { shape: node.shape, name: node.name }, []),
    conv: (node, ins) => this.conv(node, ins[0]!),
    sepconv: (node, ins) => this.sepconv(node, ins[0]!),
    bn: (node, ins) => {
      const a = node.attrs;
      return this.add(
        "batchNormalization",
        {
          axis: -1,
          epsilon: a.epsilon,
          momentum: a.momentum,
          scale: a.scale,
          center: a.center,
          name: node.name,
        },
        ins,
      );
    },
    layernorm: (node, ins) => {
      const a = node.attrs;
      return this.add(
        "layerNormalization",
        { axis: -1, epsilon: a.epsilon, scale: a.scale, center: a.center, name: node.name },
        ins,
      );
    },
    // archc's LayerScale layer (backends/tfjs/residualBranch.ts).
    layerscale: (node, ins) =>
      this.add("layerScale", { init: node.attrs.init, name: node.name }, ins),
    act: (node, ins) => this.activation(ins[0]!, node.attrs.activation, node.name, "layer"),
    maxpool: (node, ins) => this.pool(node, ins[0]!, "maxPooling2d", "max"),
    avgpool: (node, ins) => this.pool(node, ins[0]!, "averagePooling2d", "zero"),
    zeropad: (node, ins) => this.pad(ins[0]!, node.attrs.pads, node.name, "zero", "layer"),
    gap: (node, ins) => this.add("globalAveragePooling2d", { name: node.name }, ins),
    gmp: (node, ins) => this.add("globalMaxPooling2d", { name: node.name }, ins),
    flatten: (node, ins) => this.add("flatten", { name: node.name }, ins),
    dense: (node, ins) => {
      const name = node.name;
      const fn = tfActivation(node.attrs.activation);
      const y = this.add(
        "dense",
        {
          units: node.attrs.units,
          useBias: node.attrs.useBias,
          activation: fn ?? "linear",
          name,
        },
        ins,
      );
      return fn ? y : this.activation(y, node.attrs.activation, `${name}/act`, "act");
    },
    dropout: (node, ins) => this.add("dropout", { rate: node.attrs.rate, name: node.name }, ins),
    // archc's DropPath layer (backends/tfjs/residualBranch.ts): torchvision's "row" mode.
    droppath: (node, ins) => this.add("dropPath", { rate: node.attrs.rate, name: node.name }, ins),
    concat: (node, ins) => this.add("concatenate", { axis: -1, name: node.name }, ins),
    add: (node, ins) => this.add("add", { name: node.name }, ins),
    mul: (node, ins) => {
      // tfjs' multiply broadcasts axes of size 1 between inputs of one rank: a [c] gate is
      // reshaped to [1, 1, c] first.
      const name = node.name;
      const c = node.shape[node.shape.length - 1]!;
      let gates = 0;
      const xs = node.inputs.map((id, k) => {
        if (node.shape.length !== 3 || this.graph.nodes[id]!.shape.length !== 1) return ins[k]!;
        const gate = `${name}/gate${gates++ ? `_${gates - 1}` : ""}`;
        return this.add("reshape", { targetShape: [1, 1, c], name: gate }, [ins[k]!]);
      });
      return this.add("multiply", { name }, xs);
    },
    // archc's ChannelShuffle layer (backends/tfjs/shuffle.ts): torchvision's channel_shuffle.
    shuffle: (node, ins) =>
      this.add("channelShuffle", { groups: node.attrs.groups, name: node.name }, ins),
    // archc's ChannelSlice layer (backends/tfjs/slice.ts): one part of a channel split.
    split: (node, ins) =>
      this.add(
        "channelSlice",
        { start: node.attrs.start, size: node.attrs.size, name: node.name },
        ins,
      ),
    // UpSampling2D's default interpolation is nearest, as nn.Upsample's mode.
    upsample: (node, ins) =>
      this.add("upSampling2d", { size: node.attrs.factor, name: node.name }, ins),
  };

  private pool(
    node: NodeOf<"maxpool" | "avgpool">,
    x: string,
    kind: "maxPooling2d" | "averagePooling2d",
    fill: "zero" | "max",
  ): string {
    const a = node.attrs;
    const name = node.name;
    const input = this.graph.nodes[node.inputs[0]!]!.shape;
    // Max pooling pads with -infinity, average pooling with zeros that count (PyTorch's);
    // ceil mode pads its last windows' overhang too, which an average leaves out of its
    // divisor (PoolDivisor).
    const pads = a.ceil ? ceilPads(input, a) : a.pads;
    const divisors = node.op === "avgpool" ? poolDivisors(input, a) : undefined;
    const y = this.add(kind, { poolSize: a.pool, strides: a.strides, padding: a.padding, name }, [
      this.pad(x, pads, name, fill),
    ]);
    if (!divisors) return y;
    const { rows, columns } = divisors;
    return this.add(
      "poolDivisor",
      { window: a.pool, rows, columns, name: `${name}/divisor` },
      [y],
      "act",
    );
  }

  /**
   * Explicit padding before a window layer (`NAME/pad`), or `x` itself when there is none: tfjs'
   * ZeroPadding2D, or archc's MaxPadding2D (-infinity) before max pooling.
   */
  private pad(
    x: string,
    pads: readonly number[] | undefined,
    name: string,
    fill: "zero" | "max",
    role: LayerRole = "pad",
  ): string {
    if (!pads) return x;
    const layerName = role === "pad" ? `${name}/pad` : name;
    if (fill === "max") return this.add("maxPadding2d", { pads, name: layerName }, [x], role);
    const padding = [
      [pads[0]!, pads[1]!],
      [pads[2]!, pads[3]!],
    ];
    return this.add("zeroPadding2d", { padding, name: layerName }, [x], role);
  }

  /**
   * A convolution over `groups` channel segments with tfjs' own layers where they fit: Conv2D for
   * one group, DepthwiseConv2D for one group per channel (it ignores dilation, so not then), and
   * archc's GroupedConv2D for everything between.
   */
  private spatial(
    x: string,
    s: {
      inChannels: number;
      filters: number;
      groups: number;
      kernel: readonly number[];
      strides: readonly number[];
      dilation: readonly number[];
      padding: string;
      useBias: boolean;
      name: string;
      role: LayerRole;
    },
  ): string {
    const common = {
      kernelSize: s.kernel,
      strides: s.strides,
      padding: s.padding,
      useBias: s.useBias,
      name: s.name,
    };
    const dilated = s.dilation.some((d) => d !== 1);
    // Dilation 1 is every layer's default; leaving it out keeps generated code short.
    const dilation: Record<string, ConfigValue> = dilated ? { dilationRate: s.dilation } : {};
    if (s.groups === 1)
      return this.add("conv2d", { ...common, filters: s.filters, ...dilation }, [x], s.role);
    if (s.groups === s.inChannels && s.filters % s.inChannels === 0 && !dilated) {
      return this.add(
        "depthwiseConv2d",
        { ...common, depthMultiplier: s.filters / s.inChannels },
        [x],
        s.role,
      );
    }
    const strategy: Record<string, ConfigValue> = this.opts.groupedStrategy
      ? { strategy: this.opts.groupedStrategy }
      : {};
    return this.add(
      "groupedConv2d",
      { ...common, filters: s.filters, groups: s.groups, ...dilation, ...strategy },
      [x],
      s.role,
    );
  }

  private conv(node: NodeOf<"conv">, x: string): string {
    const a = node.attrs;
    const y = this.spatial(this.pad(x, a.pads, node.name, "zero"), {
      ...a,
      inChannels: channelsIn(this.graph, node),
      name: node.name,
      role: "layer",
    });
    return this.activation(y, a.activation, `${node.name}/act`, "act");
  }

  private sepconv(node: NodeOf<"sepconv">, x: string): string {
    const a = node.attrs;
    const dilated = a.dilation.some((d) => d !== 1);
    // tfjs' SeparableConv2D has no activation between its steps: fuse only when none is wanted.
    if (
      a.order === "spatial_first" &&
      a.mid === "none" &&
      a.groups === a.spatialChannels &&
      !dilated
    ) {
      const fn = tfActivation(a.activation);
      const y = this.add(
        "separableConv2d",
        {
          filters: a.filters,
          kernelSize: a.kernel,
          strides: a.strides,
          padding: a.padding,
          depthMultiplier: a.multiplier,
          useBias: a.useBias,
          activation: fn ?? "linear",
          name: node.name,
        },
        [this.pad(x, a.pads, node.name, "zero")],
      );
      return fn ? y : this.activation(y, a.activation, `${node.name}/act`, "act");
    }
    // The spatial step pads its own input, whichever step comes first.
    const spatial = (t: string, last: boolean) =>
      this.spatial(this.pad(t, a.pads, node.name, "zero"), {
        inChannels: a.spatialChannels,
        filters: a.spatialChannels * a.multiplier,
        groups: a.groups,
        kernel: a.kernel,
        strides: a.strides,
        dilation: a.dilation,
        padding: a.padding,
        useBias: last && a.useBias,
        name: `${node.name}/spatial`,
        role: "spatial",
      });
    const pointwise = (t: string, last: boolean) =>
      this.add(
        "conv2d",
        {
          filters: a.filters,
          kernelSize: [1, 1],
          useBias: last && a.useBias,
          name: `${node.name}/pointwise`,
        },
        [t],
        "pointwise",
      );
    const mid = (t: string) => this.activation(t, a.mid, `${node.name}/mid`, "mid");
    const y =
      a.order === "spatial_first"
        ? pointwise(mid(spatial(x, false)), true)
        : spatial(mid(pointwise(x, false)), true);
    return this.activation(y, a.activation, `${node.name}/act`, "act");
  }
}

/** `entry_1/sep_unit/sepconv` -> `entry_1_sep_unit_sepconv`: readable and a valid identifier. */
function identifier(name: string): string {
  const id = name.replace(/[^A-Za-z0-9_$]/g, "_");
  return /^[A-Za-z_$]/.test(id) ? id : `_${id}`;
}
