import type * as tf from "@tensorflow/tfjs";
import type { IRGraph, IRNode, NodeOf, Padding } from "../../language/ir/types.js";
import {
  AttributeType,
  DataType,
  encodeModel,
  type AttributeMsg,
  type NodeMsg,
  type TensorMsg,
  type ValueInfoMsg,
} from "./proto.js";
import { weightsFromTfjs } from "./weights.js";

/**
 * Opset 13: Conv with `group`, Softmax over one axis (not the old flattened-2D form), Clip with
 * tensor bounds; every runtime and the official checker of Debian's onnx 1.12 accept it.
 * IR version 7 is the one that opset 13 was released with.
 */
export const OPSET = 13;
export const IR_VERSION = 7;

import type { OnnxTensor, OnnxWeights } from "./tensor.js";
export type { OnnxTensor, OnnxWeights } from "./tensor.js";

export interface ExportOptions {
  /**
   * `nhwc` (default): the model takes [N, H, W, C], as the tfjs model does and as images are
   * stored, and transposes to NCHW once; image-shaped outputs are transposed back. `nchw`: the
   * model takes ONNX's native [N, C, H, W] and returns NCHW, for pipelines that already have it.
   */
  readonly inputLayout?: "nhwc" | "nchw";
  /** Seed of the random weights used when `weights` is undefined (default 1). */
  readonly seed?: number;
  readonly docString?: string;
}

/** How a parameter is initialised when no weights are given. */
type Init = "glorot" | "zeros" | "ones";

/** One parameter the ONNX model holds, by its initializer name. */
export interface ParameterSpec {
  readonly name: string;
  readonly dims: readonly number[];
  readonly init: Init;
  /** For glorot: the fans Keras would use, so random models look like tfjs' fresh ones. */
  readonly fans?: readonly [number, number];
}

/**
 * Every parameter of the exported model, in graph order. Names are the IR layer name plus a
 * suffix: `/kernel` and `/bias` (conv, dense), `/spatial/kernel` and `/pointwise/kernel` plus
 * `/bias` on the last step (sepconv), `/gamma`, `/beta`, `/moving_mean`, `/moving_variance` (bn,
 * gamma only with scale, beta only with center). Kernels are OIHW: conv [filters, cin/groups, kh,
 * kw]; dense [in, units] (Gemm's B, not transposed, as tfjs stores it).
 */
export function onnxParameters(graph: IRGraph): ParameterSpec[] {
  const out: ParameterSpec[] = [];
  const kernel = (name: string, dims: number[]) =>
    out.push({
      name,
      dims,
      init: "glorot",
      fans: [dims[1]! * dims[2]! * dims[3]!, dims[0]! * dims[2]! * dims[3]!],
    });
  const vector = (name: string, n: number, init: Init) => out.push({ name, dims: [n], init });
  for (const node of graph.nodes) {
    const cin = channelsIn(graph, node);
    switch (node.op) {
      case "conv": {
        const a = node.attrs;
        kernel(`${node.name}/kernel`, [a.filters, cin / a.groups, ...a.kernel]);
        if (a.useBias) vector(`${node.name}/bias`, a.filters, "zeros");
        break;
      }
      case "sepconv": {
        const s = sepconvSteps(node, cin);
        for (const step of s.order) {
          if (step === "spatial")
            kernel(`${node.name}/spatial/kernel`, [
              s.spatialOut,
              s.spatialIn / node.attrs.groups,
              ...node.attrs.kernel,
            ]);
          else kernel(`${node.name}/pointwise/kernel`, [s.pointwiseOut, s.pointwiseIn, 1, 1]);
        }
        if (node.attrs.useBias) vector(`${node.name}/bias`, s.out, "zeros");
        break;
      }
      case "bn": {
        if (node.attrs.scale) vector(`${node.name}/gamma`, cin, "ones");
        if (node.attrs.center) vector(`${node.name}/beta`, cin, "zeros");
        vector(`${node.name}/moving_mean`, cin, "zeros");
        vector(`${node.name}/moving_variance`, cin, "ones");
        break;
      }
      case "dense": {
        const dims = [cin, node.attrs.units];
        out.push({ name: `${node.name}/kernel`, dims, init: "glorot", fans: [cin, dims[1]!] });
        if (node.attrs.useBias) vector(`${node.name}/bias`, node.attrs.units, "zeros");
        break;
      }
      default:
        break;
    }
  }
  return out;
}

/** The channels (or features) a node reads: the last dimension of its first input. */
function channelsIn(graph: IRGraph, node: IRNode): number {
  if (!node.inputs.length) return 0;
  const s = graph.nodes[node.inputs[0]!]!.shape;
  return s[s.length - 1]!;
}

/** The two steps of a separable convolution, in order, with their channel counts. */
function sepconvSteps(node: NodeOf<"sepconv">, cin: number) {
  const a = node.attrs;
  const out = node.shape[node.shape.length - 1]!;
  if (a.order === "spatial_first") {
    return {
      order: ["spatial", "pointwise"] as const,
      spatialIn: cin,
      spatialOut: cin * a.multiplier,
      pointwiseIn: cin * a.multiplier,
      pointwiseOut: a.filters,
      out,
    };
  }
  return {
    order: ["pointwise", "spatial"] as const,
    pointwiseIn: cin,
    pointwiseOut: a.filters,
    spatialIn: a.filters,
    spatialOut: a.filters * a.multiplier,
    out,
  };
}

/**
 * TensorFlow's 'same' padding as ONNX's explicit pads, [top, left, bottom, right]: the total is
 * what makes the output ceil(in / stride) and the odd pixel goes bottom/right, which ONNX's
 * auto_pad SAME_UPPER also means but not every runtime implements identically for dilated or
 * strided windows; explicit pads leave nothing to interpretation.
 */
export function tfPads(
  input: readonly number[],
  kernel: readonly number[],
  strides: readonly number[],
  dilation: readonly number[],
  padding: Padding,
): number[] {
  if (padding !== "same") return [0, 0, 0, 0];
  const begin: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < 2; i++) {
    const out = Math.ceil(input[i]! / strides[i]!);
    const total = Math.max(
      (out - 1) * strides[i]! + (kernel[i]! - 1) * dilation[i]! + 1 - input[i]!,
      0,
    );
    begin.push(Math.floor(total / 2));
    end.push(total - Math.floor(total / 2));
  }
  return [...begin, ...end];
}

/** ONNX's Conv/Pool output size for explicit pads (floor mode). */
function onnxOutSize(
  input: readonly number[],
  kernel: readonly number[],
  strides: readonly number[],
  dilation: readonly number[],
  pads: readonly number[],
): number[] {
  return [0, 1].map(
    (i) =>
      Math.floor(
        (input[i]! + pads[i]! + pads[i + 2]! - (kernel[i]! - 1) * dilation[i]! - 1) / strides[i]!,
      ) + 1,
  );
}

const ints = (name: string, v: readonly number[]): AttributeMsg => ({
  name,
  type: AttributeType.INTS,
  ints: [...v],
});
const int = (name: string, v: number): AttributeMsg => ({ name, type: AttributeType.INT, i: v });
const float = (name: string, v: number): AttributeMsg => ({
  name,
  type: AttributeType.FLOAT,
  f: v,
});

/** Seeded uniform numbers in [0, 1) (mulberry32): the same seed gives the same model. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Weights as a fresh tfjs model would have them: Glorot-uniform kernels, BN at identity. */
export function randomWeights(graph: IRGraph, seed = 1): Map<string, OnnxTensor> {
  const next = rng(seed);
  const out = new Map<string, OnnxTensor>();
  for (const p of onnxParameters(graph)) {
    const data = new Float32Array(p.dims.reduce((a, b) => a * b, 1));
    if (p.init === "ones") data.fill(1);
    else if (p.init === "glorot") {
      const [fanIn, fanOut] = p.fans!;
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < data.length; i++) data[i] = (next() * 2 - 1) * limit;
    }
    out.set(p.name, { dims: p.dims, data });
  }
  return out;
}

class Builder {
  readonly nodes: NodeMsg[] = [];
  readonly initializers: TensorMsg[] = [];
  private readonly names = new Set<string>(["input", "output"]);

  constructor(private readonly weights: OnnxWeights) {}

  /** A value or node name not used yet: `base`, else `base_1`, `base_2`... */
  unique(base: string): string {
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  /** Adds a node with one output, named `output` or after the node; returns the output. */
  node(
    opType: string,
    input: string[],
    name: string,
    attribute: AttributeMsg[] = [],
    output?: string,
  ): string {
    const node = this.unique(name);
    const out = output ?? node;
    this.nodes.push({ op_type: opType, input, output: [out], name: node, attribute });
    return out;
  }

  /** A constant initializer: a scalar, or a vector when `vector` (BN's fixed gamma/beta). */
  constant(name: string, values: number[], vector = false): string {
    const data = Float32Array.from(values);
    return this.tensor(this.unique(name), vector ? [values.length] : [], data);
  }

  /** The initializer for parameter `name`, checked against the shape the graph needs. */
  param(name: string, dims: readonly number[]): string {
    const w = this.weights.get(name);
    if (!w) throw new Error(`no weights for '${name}' (expected shape [${dims.join(", ")}])`);
    if (w.dims.length !== dims.length || w.dims.some((d, i) => d !== dims[i]))
      throw new Error(
        `weights '${name}' have shape [${w.dims.join(", ")}], the network needs [${dims.join(", ")}]`,
      );
    const n = dims.reduce((a, b) => a * b, 1);
    if (w.data.length !== n)
      throw new Error(`weights '${name}' hold ${w.data.length} values for ${n} elements`);
    return this.tensor(this.unique(name), dims, w.data);
  }

  private tensor(name: string, dims: readonly number[], data: Float32Array): string {
    // raw_data is little-endian float32, which is what a Float32Array holds on every platform
    // Node runs on; a view, not a copy, so a 90 MB model is not held twice before encoding.
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push({ name, dims: [...dims], data_type: DataType.FLOAT, raw_data: raw });
    return name;
  }
}

/** A value in the ONNX graph with the IR shape it holds (NHWC, no batch; stored as NCHW). */
interface Value {
  readonly name: string;
  readonly shape: readonly number[];
}

/**
 * One activation after `x`. Softmax is over axis 1 in every case: that is the channels of an
 * NCHW image and the features of a vector, i.e. tfjs' last axis.
 */
function activation(b: Builder, x: string, fn: string, name: string): string {
  switch (fn) {
    case "none":
    case "linear":
      return x;
    case "relu":
      return b.node("Relu", [x], name);
    case "relu6":
      return b.node(
        "Clip",
        [x, b.constant(`${name}/min`, [0]), b.constant(`${name}/max`, [6])],
        name,
      );
    case "elu":
      return b.node("Elu", [x], name, [float("alpha", 1)]);
    case "selu":
      // ONNX's defaults are the float32 roundings of tfjs' constants.
      return b.node("Selu", [x], name);
    case "gelu": {
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
    }
    case "sigmoid":
      return b.node("Sigmoid", [x], name);
    case "hard_sigmoid":
      // tfjs: clip(0.2 x + 0.5, 0, 1); ONNX's HardSigmoid is that with these attributes.
      return b.node("HardSigmoid", [x], name, [float("alpha", 0.2), float("beta", 0.5)]);
    case "tanh":
      return b.node("Tanh", [x], name);
    case "softmax":
      return b.node("Softmax", [x], name, [int("axis", 1)]);
    case "softplus":
      return b.node("Softplus", [x], name);
    case "swish":
      return b.node("Mul", [x, b.node("Sigmoid", [x], `${name}/sigmoid`)], name);
    case "leaky_relu":
      // tfjs' LeakyReLU layer, which archc's leaky_relu lowers to, has alpha 0.3.
      return b.node("LeakyRelu", [x], name, [float("alpha", 0.3)]);
    default:
      throw new Error(`activation '${fn}' has no ONNX lowering`);
  }
}

/**
 * Exports an IR graph as an ONNX model (opset 13) with `weights`: ONNX initializers (see
 * `onnxParameters`; every parameter must be present), a tfjs model built from the same graph
 * (read with `weightsFromTfjs`), or undefined for Glorot-uniform random weights from `opts.seed`.
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
  const values = new Map<number, Value>();
  for (const node of graph.nodes) {
    const ins = node.inputs.map((i) => values.get(i)!);
    const name = lowerNode(b, graph, node, ins, nhwc);
    values.set(node.id, { name, shape: node.shape });
  }
  const final = values.get(graph.output)!;
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

function lowerNode(b: Builder, graph: IRGraph, node: IRNode, ins: Value[], nhwc: boolean): string {
  const x = ins[0]!;
  const name = node.name;
  switch (node.op) {
    case "input":
      return node.shape.length === 3 && nhwc
        ? b.node("Transpose", ["input"], name, [ints("perm", [0, 3, 1, 2])])
        : b.node("Identity", ["input"], name);
    case "conv": {
      const a = node.attrs;
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
        groups: a.groups,
        name: a.activation === "none" || a.activation === "linear" ? name : `${name}/conv`,
      });
      return activation(b, y, a.activation, name);
    }
    case "sepconv":
      return sepconv(b, graph, node, x);
    case "bn": {
      const a = node.attrs;
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
    }
    case "act":
      return activation(b, x.name, node.attrs.activation, name);
    case "maxpool":
    case "avgpool": {
      const a = node.attrs;
      const pads = tfPads(x.shape, a.pool, a.strides, [1, 1], a.padding);
      checkSpatial(node, onnxOutSize(x.shape, a.pool, a.strides, [1, 1], pads));
      const attrs = [ints("kernel_shape", a.pool), ints("strides", a.strides), ints("pads", pads)];
      // TensorFlow averages over the window's real pixels only, never over the padding.
      if (node.op === "avgpool") attrs.push(int("count_include_pad", 0));
      return b.node(node.op === "maxpool" ? "MaxPool" : "AveragePool", [x.name], name, attrs);
    }
    case "gap":
    case "gmp": {
      const pooled = b.node(
        node.op === "gap" ? "GlobalAveragePool" : "GlobalMaxPool",
        [x.name],
        `${name}/pool`,
      );
      return b.node("Flatten", [pooled], name, [int("axis", 1)]);
    }
    case "flatten": {
      if (x.shape.length !== 3) return x.name;
      // tfjs flattens in NHWC order, and dense kernels are laid out for it: go back to NHWC first.
      const t = b.node("Transpose", [x.name], `${name}/nhwc`, [ints("perm", [0, 2, 3, 1])]);
      return b.node("Flatten", [t], name, [int("axis", 1)]);
    }
    case "dense": {
      const a = node.attrs;
      const inputs = [x.name, b.param(`${name}/kernel`, [channelsIn(graph, node), a.units])];
      if (a.useBias) inputs.push(b.param(`${name}/bias`, [a.units]));
      const linear = a.activation === "none" || a.activation === "linear";
      const y = b.node("Gemm", inputs, linear ? name : `${name}/gemm`);
      return activation(b, y, a.activation, name);
    }
    case "dropout":
      // Inference: dropout is the identity, and leaving it out keeps the graph what runs.
      return x.name;
    case "concat":
      // Axis 1 is the channels of NCHW images and the features of vectors: tfjs' last axis.
      return b.node(
        "Concat",
        ins.map((v) => v.name),
        name,
        [int("axis", 1)],
      );
    case "add":
      // Add is binary; Sum takes any number of inputs.
      return b.node(
        ins.length === 2 ? "Add" : "Sum",
        ins.map((v) => v.name),
        name,
      );
  }
}

function checkSpatial(node: IRNode, hw: readonly number[]): void {
  if (hw[0] !== node.shape[0] || hw[1] !== node.shape[1])
    throw new Error(
      `internal error: ONNX ${node.op} '${node.name}' would output ${hw.join("x")}, the IR says ${node.shape.slice(0, 2).join("x")}`,
    );
}

interface ConvStep {
  weight: string;
  bias: string | undefined;
  kernel: readonly number[];
  strides: readonly number[];
  dilation: readonly number[];
  padding: Padding;
  groups: number;
  name: string;
}

/** A Conv node with TensorFlow's padding made explicit, its output size checked against the IR. */
function conv(b: Builder, x: Value, node: IRNode, s: ConvStep, check = true): string {
  const pads = tfPads(x.shape, s.kernel, s.strides, s.dilation, s.padding);
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
  const s = sepconvSteps(node, channelsIn(graph, node));
  const last = s.order[1];
  const spatial = (v: Value, isLast: boolean): Value => ({
    name: conv(b, v, node, {
      weight: b.param(`${name}/spatial/kernel`, [
        s.spatialOut,
        s.spatialIn / a.groups,
        ...a.kernel,
      ]),
      bias: isLast && a.useBias ? b.param(`${name}/bias`, [s.out]) : undefined,
      kernel: a.kernel,
      strides: a.strides,
      dilation: a.dilation,
      padding: a.padding,
      groups: a.groups,
      name: `${name}/spatial`,
    }),
    shape: [...node.shape.slice(0, 2), s.spatialOut],
  });
  const pointwise = (v: Value, isLast: boolean): Value => ({
    name: conv(
      b,
      v,
      node,
      {
        weight: b.param(`${name}/pointwise/kernel`, [s.pointwiseOut, s.pointwiseIn, 1, 1]),
        bias: isLast && a.useBias ? b.param(`${name}/bias`, [s.out]) : undefined,
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
    shape: [...v.shape.slice(0, 2), s.pointwiseOut],
  });
  const mid = (v: Value): Value => ({ ...v, name: activation(b, v.name, a.mid, `${name}/mid`) });
  const y =
    a.order === "spatial_first"
      ? pointwise(mid(spatial(x, false)), true)
      : spatial(mid(pointwise(x, false)), true);
  return activation(b, y.name, a.activation, name);
}
