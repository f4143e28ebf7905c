import { ceilPads, channelsIn, poolDivisors, sepconvSteps } from "../../language/ir/geometry.js";
import {
  type Activation,
  type ActivationTable,
  isIdentity,
} from "../../language/ir/activations.js";
import {
  type IRGraph,
  type IRNode,
  type NodeOf,
  type OpName,
  type Padding,
  type Pads,
} from "../../language/ir/types.js";
import { type Builder, float, int, ints, str } from "./builder.js";
import type { AttributeMsg } from "./proto.js";
import { checkSpatial, onnxOutSize, tfPads } from "./padding.js";
import { parameterName } from "./parameterNames.js";
import {
  afterActivation,
  biasMoment,
  kernelGain,
  mean2,
  RANDOM_RANGES,
  type MomentInputs,
} from "./moments.js";

/** A value in the ONNX graph with the IR shape it holds (NHWC, no batch; stored as NCHW). */
export interface Value {
  readonly name: string;
  readonly shape: readonly number[];
}

/** An activation's constant as the IR records it: never a number of this backend's own. */
function constant(graph: IRGraph, fn: Activation, key: string): number {
  const v = graph.activations[fn]?.[key];
  if (v === undefined) throw new Error(`internal error: the IR gives ${fn} no ${key}`);
  return v;
}

/** What an activation needs to add its ONNX nodes after `x`. */
interface ActivationContext {
  readonly b: Builder;
  readonly graph: IRGraph;
  readonly x: string;
  readonly name: string;
}

const identity = ({ x }: ActivationContext) => x;

/**
 * Every activation's ONNX lowering. Softmax is over axis 1 in every case: that is the channels of
 * an NCHW image and the features of a vector, i.e. tfjs' last axis.
 */
const activations: ActivationTable<(c: ActivationContext) => string> = {
  none: identity,
  linear: identity,
  relu: ({ b, x, name }) => b.node("Relu", [x], name),
  relu6: ({ b, graph, x, name }) =>
    b.node(
      "Clip",
      [
        x,
        b.constant(`${name}/min`, [0]),
        b.constant(`${name}/max`, [constant(graph, "relu6", "max")]),
      ],
      name,
    ),
  elu: ({ b, graph, x, name }) =>
    b.node("Elu", [x], name, [float("alpha", constant(graph, "elu", "alpha"))]),
  selu: ({ b, graph, x, name }) =>
    b.node("Selu", [x], name, [
      float("alpha", constant(graph, "selu", "alpha")),
      float("gamma", constant(graph, "selu", "gamma")),
    ]),
  gelu: ({ b, x, name }) => {
    // Opset 13 has no Gelu: x * 0.5 * (1 + erf(x / sqrt 2)), as tfjs computes it.
    const scaled = b.node(
      "Mul",
      [x, b.constant(`${name}/rsqrt2`, [Math.SQRT1_2])],
      `${name}/scale`,
    );
    const erf = b.node("Erf", [scaled], `${name}/erf`);
    const plus = b.node("Add", [erf, b.constant(`${name}/one`, [1])], `${name}/add`);
    const cdf = b.node("Mul", [plus, b.constant(`${name}/half`, [0.5])], `${name}/cdf`);
    return b.node("Mul", [x, cdf], name);
  },
  sigmoid: ({ b, x, name }) => b.node("Sigmoid", [x], name),
  hard_sigmoid: (c) => hardSigmoid(c, "hard_sigmoid"),
  h_sigmoid: (c) => hardSigmoid(c, "h_sigmoid"),
  tanh: ({ b, x, name }) => b.node("Tanh", [x], name),
  softmax: ({ b, x, name }) => b.node("Softmax", [x], name, [int("axis", 1)]),
  softplus: ({ b, x, name }) => b.node("Softplus", [x], name),
  swish: ({ b, x, name }) => b.node("Mul", [x, b.node("Sigmoid", [x], `${name}/sigmoid`)], name),
  hard_swish: ({ b, x, name }) => {
    // Opset 13 has no HardSwish (14 has): x * clip(x + 3, 0, 6) / 6, as PyTorch computes it.
    const shifted = b.node("Add", [x, b.constant(`${name}/three`, [3])], `${name}/shift`);
    const relu6 = b.node(
      "Clip",
      [shifted, b.constant(`${name}/min`, [0]), b.constant(`${name}/max`, [6])],
      `${name}/relu6`,
    );
    const scaled = b.node("Mul", [x, relu6], `${name}/mul`);
    return b.node("Div", [scaled, b.constant(`${name}/six`, [6])], name);
  },
  leaky_relu: ({ b, graph, x, name }) =>
    b.node("LeakyRelu", [x], name, [float("alpha", constant(graph, "leaky_relu", "alpha"))]),
};

/** clip(slope x + offset, 0, 1): ONNX's HardSigmoid with alpha = slope, beta = offset. */
function hardSigmoid({ b, graph, x, name }: ActivationContext, fn: Activation): string {
  return b.node("HardSigmoid", [x], name, [
    float("alpha", constant(graph, fn, "slope")),
    float("beta", constant(graph, fn, "offset")),
  ]);
}

/** One activation after `x`. */
export function activation(
  b: Builder,
  graph: IRGraph,
  x: string,
  fn: Activation,
  name: string,
): string {
  return activations[fn]({ b, graph, x, name });
}

/** The moment of an op that passes its input's values through (or a subset of them). */
const pass = (_node: IRNode, { x }: MomentInputs) => x;

/** One op on ONNX (`onnxOps`). */
interface OnnxOp<Op extends OpName> {
  lower(node: NodeOf<Op>, c: NodeContext): string;
  moment(node: NodeOf<Op>, m: MomentInputs): number;
}

/** What lowering one node onto ONNX nodes needs besides the node. */
interface NodeContext {
  readonly b: Builder;
  readonly graph: IRGraph;
  readonly ins: readonly Value[];
  /** The first input. */
  readonly x: Value;
  readonly nhwc: boolean;
}

/**
 * Lowers every node of the graph onto ONNX nodes, calling `before` with each node first; returns
 * the graph's output value.
 */
export function lowerGraph(
  b: Builder,
  graph: IRGraph,
  nhwc: boolean,
  before: (node: IRNode) => void = () => {},
): Value {
  const values = new Map<number, Value>();
  for (const node of graph.nodes) {
    before(node);
    const ins = node.inputs.map((i) => values.get(i)!);
    const name = lowerNode(b, graph, node, ins, nhwc);
    values.set(node.id, { name, shape: node.shape });
  }
  return values.get(graph.output)!;
}

/** Lowers one IR node onto ONNX nodes; returns the name of its output. */
function lowerNode(b: Builder, graph: IRGraph, node: IRNode, ins: Value[], nhwc: boolean): string {
  const lower = onnxOps[node.op].lower as (n: IRNode, c: NodeContext) => string;
  return lower(node, { b, graph, ins, x: ins[0]!, nhwc });
}

/**
 * Each op on ONNX: its `lower`ing onto opset-13 nodes, and the `moment` (E[y^2], before the node's
 * activation) of its output given its inputs', from which random.ts draws weights that keep
 * activations of order 1. One entry per op, so a new op is a compile error here only.
 */
export const onnxOps: { readonly [Op in OpName]: OnnxOp<Op> } = {
  input: {
    lower: (node, { b, nhwc }) =>
      node.shape.length === 3 && nhwc
        ? b.node("Transpose", ["input"], node.name, [ints("perm", [0, 3, 1, 2])])
        : b.node("Identity", ["input"], node.name),
    moment: () => 1,
  },
  conv: {
    lower: (node, { b, graph, x }) => {
      const a = node.attrs;
      const name = node.name;
      const y = conv(b, x, node, {
        weight: b.param(`${name}/kernel`, [
          a.filters,
          channelsIn(graph, node) / a.groups,
          ...a.kernel,
        ]),
        bias: a.useBias ? b.param(`${name}/bias`, [a.filters]) : undefined,
        kernel: a.kernel,
        strides: a.strides,
        dilation: a.dilation,
        padding: a.padding,
        ...(a.pads ? { pads: a.pads } : {}),
        groups: a.groups,
        name: isIdentity(a.activation) ? name : `${name}/conv`,
      });
      return activation(b, graph, y, a.activation, name);
    },
    moment: (node, { x, cin }) => {
      const a = node.attrs;
      const taps = a.kernel[0] * a.kernel[1];
      return (
        x * kernelGain((taps * cin) / a.groups, taps * a.filters) + (a.useBias ? biasMoment : 0)
      );
    },
  },
  sepconv: {
    lower: (node, { b, graph, x }) => sepconv(b, graph, node, x),
    moment: (node, { x, cin }) => {
      const a = node.attrs;
      let y = x;
      for (const [i, step] of sepconvSteps(node, cin).entries()) {
        const taps = step.kind === "spatial" ? a.kernel[0] * a.kernel[1] : 1;
        y *= kernelGain((taps * step.inChannels) / step.groups, taps * step.outChannels);
        if (i === 0) y = afterActivation(a.mid, y);
      }
      return a.useBias ? y + biasMoment : y;
    },
  },
  bn: {
    lower: (node, { b, graph, x }) => {
      const a = node.attrs;
      const name = node.name;
      const c = channelsIn(graph, node);
      // Keras' scale=false means gamma 1, center=false beta 0: ONNX needs them as inputs anyway.
      const gamma = a.scale
        ? b.param(`${name}/gamma`, [c])
        : b.constant(`${name}/gamma`, new Array<number>(c).fill(1), true);
      const beta = a.center
        ? b.param(`${name}/beta`, [c])
        : b.constant(`${name}/beta`, new Array<number>(c).fill(0), true);
      return b.node(
        "BatchNormalization",
        [
          x.name,
          gamma,
          beta,
          b.param(`${name}/moving_mean`, [c]),
          b.param(`${name}/moving_variance`, [c]),
        ],
        name,
        [float("epsilon", a.epsilon)],
      );
    },
    moment: (node) =>
      (node.attrs.scale ? mean2(RANDOM_RANGES.gamma) : 1) +
      (node.attrs.center ? mean2(RANDOM_RANGES.beta) : 0),
  },
  layernorm: {
    lower: (node, { b, x }) => layerNorm(b, node, x),
    // Unit variance per position, then scaled and shifted as batch norm is.
    moment: (node) =>
      (node.attrs.scale ? mean2(RANDOM_RANGES.gamma) : 1) +
      (node.attrs.center ? mean2(RANDOM_RANGES.beta) : 0),
  },
  layerscale: {
    lower: (node, { b, x }) => {
      const gamma = perChannel(b, b.param(`${node.name}/gamma`, [x.shape.at(-1)!]), x, node.name);
      return b.node("Mul", [x.name, gamma], node.name);
    },
    moment: (_node, { x }) => x * mean2(RANDOM_RANGES.gamma),
  },
  act: {
    lower: (node, { b, graph, x }) =>
      activation(b, graph, x.name, node.attrs.activation, node.name),
    moment: pass,
  },
  maxpool: {
    lower: (node, c) => pool(node, c, "MaxPool"),
    moment: pass,
  },
  avgpool: {
    lower: (node, c) => {
      // TensorFlow averages over the window's real pixels only, never over the padding; explicit
      // pads are zeros that count, as PyTorch's AvgPool2d by default.
      return pool(node, c, "AveragePool", [int("count_include_pad", node.attrs.pads ? 1 : 0)]);
    },
    moment: pass,
  },
  gap: {
    lower: (node, c) => globalPool(node, c, "GlobalAveragePool"),
    moment: pass,
  },
  gmp: {
    lower: (node, c) => globalPool(node, c, "GlobalMaxPool"),
    moment: pass,
  },
  flatten: {
    lower: (node, { b, x }) => {
      if (x.shape.length !== 3) return x.name;
      // tfjs flattens in NHWC order, and dense kernels are laid out for it: go back to NHWC first.
      const t = b.node("Transpose", [x.name], `${node.name}/nhwc`, [ints("perm", [0, 2, 3, 1])]);
      return b.node("Flatten", [t], node.name, [int("axis", 1)]);
    },
    moment: pass,
  },
  dense: {
    lower: (node, { b, graph, x }) => {
      const a = node.attrs;
      const name = node.name;
      const inputs = [x.name, b.param(`${name}/kernel`, [channelsIn(graph, node), a.units])];
      if (a.useBias) inputs.push(b.param(`${name}/bias`, [a.units]));
      const y = b.node("Gemm", inputs, isIdentity(a.activation) ? name : `${name}/gemm`);
      return activation(b, graph, y, a.activation, name);
    },
    moment: (node, { x, cin }) =>
      x * kernelGain(cin, node.attrs.units) + (node.attrs.useBias ? biasMoment : 0),
  },
  // Inference: dropout and stochastic depth are the identity; leaving them out keeps the
  // graph what runs.
  dropout: {
    lower: (_node, { x }) => x.name,
    moment: pass,
  },
  droppath: {
    lower: (_node, { x }) => x.name,
    moment: pass,
  },
  // Axis 1 is the channels of NCHW images and the features of vectors: tfjs' last axis.
  concat: {
    lower: (node, { b, ins }) =>
      b.node(
        "Concat",
        ins.map((v) => v.name),
        node.name,
        [int("axis", 1)],
      ),
    moment: (node, { graph, ins }) => {
      const widths = node.inputs.map((i) => graph.nodes[i]!.shape.at(-1)!);
      const total = widths.reduce((s, w) => s + w, 0);
      return ins.reduce((s, v, i) => s + (v * widths[i]!) / total, 0);
    },
  },
  // Add is binary; Sum takes any number of inputs.
  add: {
    lower: (node, { b, ins }) =>
      b.node(
        ins.length === 2 ? "Add" : "Sum",
        ins.map((v) => v.name),
        node.name,
      ),
    moment: (_node, { ins }) => ins.reduce((s, v) => s + v, 0),
  },
  mul: {
    lower: (node, { b, ins }) => {
      // Mul broadcasts as numpy does: a [c] gate ([N, c] here) becomes [N, c, 1, 1] to scale
      // every position of an NCHW image (a 0 in the target keeps the batch); [1, 1, c] is
      // already [N, c, 1, 1].
      const name = node.name;
      const c = node.shape[node.shape.length - 1]!;
      const xs = ins.map((v) =>
        node.shape.length === 3 && v.shape.length === 1
          ? b.node(
              "Reshape",
              [v.name, b.int64s(`${name}/gate_shape`, [0, c, 1, 1])],
              `${name}/gate`,
            )
          : v.name,
      );
      return xs
        .slice(1)
        .reduce(
          (acc, v, i) => b.node("Mul", [acc, v], i === xs.length - 2 ? name : `${name}/${i}`),
          xs[0]!,
        );
    },
    // Independent factors: E[(ab)^2] = E[a^2] E[b^2].
    moment: (_node, { ins }) => ins.reduce((p, v) => p * v, 1),
  },
  // Slice (opset 13: starts, ends and axes as inputs) along NCHW's channel axis.
  split: {
    lower: (node, { b, x }) =>
      b.node(
        "Slice",
        [
          x.name,
          b.int64s(`${node.name}/starts`, [node.attrs.start]),
          b.int64s(`${node.name}/ends`, [node.attrs.start + node.attrs.size]),
          b.int64s(`${node.name}/axes`, [1]),
        ],
        node.name,
      ),
    moment: pass,
  },
  shuffle: {
    lower: (node, { b, x }) => {
      // torchvision's channel_shuffle on NCHW: view [n, g, c/g, h, w], swap axes 1 and 2, flatten.
      // A 0 in a Reshape target copies that axis of the input: the batch stays symbolic.
      const name = node.name;
      const [h, w, c] = x.shape as [number, number, number];
      const g = node.attrs.groups;
      const grouped = b.node(
        "Reshape",
        [x.name, b.int64s(`${name}/grouped_shape`, [0, g, c / g, h, w])],
        `${name}/grouped`,
      );
      const swapped = b.node("Transpose", [grouped], `${name}/transpose`, [
        ints("perm", [0, 2, 1, 3, 4]),
      ]);
      return b.node("Reshape", [swapped, b.int64s(`${name}/shape`, [0, c, h, w])], name);
    },
    moment: pass,
  },
  upsample: {
    lower: (node, { b, x }) => {
      // Resize (opset 13) with asymmetric coordinates and floor: output pixel y reads input pixel
      // floor(y / factor), i.e. each pixel repeated, as UpSampling2D and nn.Upsample('nearest').
      const [fh, fw] = node.attrs.factor;
      return b.node(
        "Resize",
        [x.name, "", b.constant(`${node.name}/scales`, [1, 1, fh, fw], true)],
        node.name,
        [
          str("mode", "nearest"),
          str("coordinate_transformation_mode", "asymmetric"),
          str("nearest_mode", "floor"),
        ],
      );
    },
    moment: pass,
  },
  zeropad: {
    lower: (node, { b, graph, x }) => {
      const name = node.name;
      const [t, bottom, l, r] = node.attrs.pads;
      if (graph.nodes.some((n) => isPool(n) && n.inputs.includes(node.id))) {
        // onnxruntime's PadFusion folds a zero Pad into a following pool's pads: for MaxPool
        // that pads with -inf instead (other numbers), and beyond the window it is refused. A
        // depthwise 1x1 convolution by exactly 1 pads the same zeros and fuses with nothing.
        const c = node.shape[2]!;
        const ones = b.ones(`${name}/identity`, [c, 1, 1, 1]);
        return b.node("Conv", [x.name, ones], name, [
          ints("kernel_shape", [1, 1]),
          ints("pads", [t, l, bottom, r]),
          int("group", c),
        ]);
      }
      // NCHW: the begins of every axis, then the ends; constant mode pads with 0.
      const pads = b.int64s(`${name}/pads`, [0, 0, t, l, 0, 0, bottom, r]);
      return b.node("Pad", [x.name, pads], name);
    },
    moment: pass,
  },
};

/** A window pool with TensorFlow's padding made explicit; MaxPool's padding never wins. */
function pool(
  node: NodeOf<"maxpool" | "avgpool">,
  { b, x }: NodeContext,
  op: "MaxPool" | "AveragePool",
  extra: AttributeMsg[] = [],
): string {
  const a = node.attrs;
  const name = node.name;
  // Ceil mode as floor mode over pads that hold the last windows' overhang (ONNX's own
  // ceil_mode lacks PyTorch's rule that a last window starts inside the input, and runtimes
  // differ on its divisor).
  const explicit = a.ceil ? ceilPads(x.shape, a) : a.pads;
  const pads = tfPads(x.shape, a.pool, a.strides, [1, 1], a.padding, explicit);
  checkSpatial(node, onnxOutSize(x.shape, a.pool, a.strides, [1, 1], pads));
  const attrs = [ints("kernel_shape", a.pool), ints("strides", a.strides), ints("pads", pads)];
  attrs.push(...extra);
  const divisors = node.op === "avgpool" ? poolDivisors(x.shape, a) : undefined;
  if (!divisors) return b.node(op, [x.name], name, attrs);
  // The overhang counted in every window's divisor; each output rescaled to what it covers.
  const pooled = b.node(op, [x.name], `${name}/pool`, attrs);
  const { rows, columns } = divisors;
  const whole = a.pool[0] * a.pool[1];
  const scale = b.constantOf(
    `${name}/divisor`,
    [1, 1, rows.length, columns.length],
    rows.flatMap((r) => columns.map((c) => whole / (r * c))),
  );
  return b.node("Mul", [pooled, scale], name);
}

/** A per-channel vector [c] shaped to broadcast over `x`: [c, 1, 1] for an NCHW image. */
function perChannel(b: Builder, v: string, x: Value, name: string): string {
  if (x.shape.length !== 3) return v;
  const c = x.shape[2]!;
  return b.node("Reshape", [v, b.int64s(`${name}/channel_shape`, [c, 1, 1])], `${v}/nchw`);
}

/**
 * Layer normalisation over the channels (axis 1 of NCHW and of [N, c]) decomposed, since
 * LayerNormalization is opset 17: (x - mean) / sqrt(var + epsilon) * gamma + beta, with the
 * biased variance, as tfjs and torch compute it.
 */
function layerNorm(b: Builder, node: NodeOf<"layernorm">, x: Value): string {
  const { name, attrs: a } = node;
  const c = x.shape.at(-1)!;
  const reduce = (v: string, out: string) =>
    b.node("ReduceMean", [v], out, [ints("axes", [1]), int("keepdims", 1)]);
  const mean = reduce(x.name, `${name}/mean`);
  const centred = b.node("Sub", [x.name, mean], `${name}/centred`);
  const squared = b.node("Mul", [centred, centred], `${name}/squared`);
  const variance = reduce(squared, `${name}/variance`);
  const eps = b.node("Add", [variance, b.constant(`${name}/epsilon`, [a.epsilon])], `${name}/eps`);
  const std = b.node("Sqrt", [eps], `${name}/std`);
  const last = !a.scale && !a.center;
  let y = b.node("Div", [centred, std], last ? name : `${name}/normalised`);
  if (a.scale) {
    const gamma = perChannel(b, b.param(`${name}/gamma`, [c]), x, name);
    y = b.node("Mul", [y, gamma], a.center ? `${name}/scaled` : name);
  }
  if (a.center) {
    const beta = perChannel(b, b.param(`${name}/beta`, [c]), x, `${name}/beta`);
    y = b.node("Add", [y, beta], name);
  }
  return y;
}

function globalPool(node: IRNode, { b, x }: NodeContext, op: string): string {
  const pooled = b.node(op, [x.name], `${node.name}/pool`);
  return b.node("Flatten", [pooled], node.name, [int("axis", 1)]);
}

function isPool(n: IRNode): boolean {
  return n.op === "maxpool" || n.op === "avgpool";
}

interface ConvStep {
  weight: string;
  bias: string | undefined;
  kernel: readonly number[];
  strides: readonly number[];
  dilation: readonly number[];
  padding: Padding;
  pads?: Pads;
  groups: number;
  name: string;
}

/** A Conv node with TensorFlow's padding made explicit, its output size checked against the IR. */
function conv(b: Builder, x: Value, node: IRNode, s: ConvStep, check = true): string {
  const pads = tfPads(x.shape, s.kernel, s.strides, s.dilation, s.padding, s.pads);
  if (check) checkSpatial(node, onnxOutSize(x.shape, s.kernel, s.strides, s.dilation, pads));
  const inputs = [x.name, s.weight];
  if (s.bias) inputs.push(s.bias);
  return b.node("Conv", inputs, s.name, [
    ints("kernel_shape", s.kernel),
    ints("strides", s.strides),
    ints("dilations", s.dilation),
    ints("pads", pads),
    int("group", s.groups),
  ]);
}

/**
 * A separable convolution as its two Conv steps: the spatial one grouped (group = channels is
 * depthwise), then 1x1, or the other way round for pointwise_first, with `mid` in between and the
 * bias on whichever step comes last, as the tfjs lowering has it.
 */
function sepconv(b: Builder, graph: IRGraph, node: NodeOf<"sepconv">, x: Value): string {
  const a = node.attrs;
  const name = node.name;
  const [first, second] = sepconvSteps(node, channelsIn(graph, node));
  const spatialStep = first.kind === "spatial" ? first : second;
  const pointStep = first.kind === "pointwise" ? first : second;
  const last = second.kind;
  const spatial = (v: Value, isLast: boolean): Value => ({
    name: conv(b, v, node, {
      weight: b.param(parameterName(name, "kernel", "spatial"), [
        spatialStep.outChannels,
        spatialStep.inChannels / spatialStep.groups,
        ...a.kernel,
      ]),
      bias: isLast && a.useBias ? b.param(parameterName(name, "bias"), [a.filters]) : undefined,
      kernel: a.kernel,
      strides: a.strides,
      dilation: a.dilation,
      padding: a.padding,
      ...(a.pads ? { pads: a.pads } : {}),
      groups: a.groups,
      name: `${name}/spatial`,
    }),
    shape: [...node.shape.slice(0, 2), spatialStep.outChannels],
  });
  const pointwise = (v: Value, isLast: boolean): Value => ({
    name: conv(
      b,
      v,
      node,
      {
        weight: b.param(parameterName(name, "kernel", "pointwise"), [
          pointStep.outChannels,
          pointStep.inChannels,
          1,
          1,
        ]),
        bias: isLast && a.useBias ? b.param(parameterName(name, "bias"), [a.filters]) : undefined,
        kernel: [1, 1],
        strides: [1, 1],
        dilation: [1, 1],
        padding: "valid",
        groups: 1,
        name: `${name}/pointwise`,
      },
      // A leading 1x1 keeps the input's size, which is not yet the node's output size.
      last === "pointwise",
    ),
    shape: [...v.shape.slice(0, 2), pointStep.outChannels],
  });
  const mid = (v: Value): Value => ({
    ...v,
    name: activation(b, graph, v.name, a.mid, `${name}/mid`),
  });
  const y =
    a.order === "spatial_first"
      ? pointwise(mid(spatial(x, false)), true)
      : spatial(mid(pointwise(x, false)), true);
  return activation(b, graph, y.name, a.activation, name);
}
