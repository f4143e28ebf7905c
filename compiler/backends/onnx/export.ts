import * as tf from "@tensorflow/tfjs";
import type { IRGraph } from "../../ir/types.js";
import { planModel, type PlannedLayer } from "../tfjs/plan.js";
import { AttributeType, DataType, ModelProto } from "./proto.js";

/** ONNX opset 13: Conv with `group`, Clip/Softmax in their modern forms; runs everywhere. */
export const opset = 13;

interface Attr {
  name: string;
  type: number;
  i?: number;
  f?: number;
  ints?: number[];
  floats?: number[];
  s?: Uint8Array;
}
interface OnnxNode {
  opType: string;
  input: string[];
  output: string[];
  name: string;
  attribute: Attr[];
}
interface Initializer {
  name: string;
  dims: number[];
  dataType: number;
  rawData: Uint8Array;
}

const ints = (name: string, v: readonly number[]): Attr => ({
  name,
  type: AttributeType.INTS,
  ints: [...v],
});
const int = (name: string, v: number): Attr => ({ name, type: AttributeType.INT, i: v });
const float = (name: string, v: number): Attr => ({ name, type: AttributeType.FLOAT, f: v });

/**
 * TensorFlow's 'same' padding as ONNX's explicit pads: the total is what makes the output
 * ceil(in / stride), and the odd pixel goes bottom/right. [top, left, bottom, right].
 */
export function tfPads(
  input: readonly [number, number],
  kernel: readonly number[],
  strides: readonly number[],
  dilation: readonly number[],
  padding: string,
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

class Builder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: Initializer[] = [];
  private n = 0;

  fresh(base: string): string {
    return `${base}:${this.n++}`;
  }

  node(
    opType: string,
    input: string[],
    name: string,
    attribute: Attr[] = [],
    output = this.fresh(name),
  ): string {
    // Node names must be unique; the layer name plus a counter keeps them readable.
    this.nodes.push({
      opType,
      input,
      output: [output],
      name: `${name}/${opType}_${this.nodes.length}`,
      attribute,
    });
    return output;
  }

  init(name: string, dims: readonly number[], data: Float32Array): string {
    const bytes = new Uint8Array(
      data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
    );
    this.initializers.push({ name, dims: [...dims], dataType: DataType.FLOAT, rawData: bytes });
    return name;
  }
}

/** HWIO (tfjs) to OIHW (ONNX). */
function oihw(w: tf.Tensor): { dims: number[]; data: Float32Array } {
  const t = tf.transpose(w, [3, 2, 0, 1]);
  const out = { dims: t.shape, data: t.dataSync() as Float32Array };
  t.dispose();
  return out;
}

/** tfjs depthwise [kh, kw, cin, m] to ONNX grouped [cin * m, 1, kh, kw] (channel c*m + j). */
function depthwiseOihw(w: tf.Tensor): { dims: number[]; data: Float32Array } {
  const [kh, kw, cin, m] = w.shape as [number, number, number, number];
  const t = tf.tidy(() => tf.reshape(tf.transpose(w, [2, 3, 0, 1]), [cin * m, 1, kh, kw]));
  const out = { dims: t.shape, data: t.dataSync() as Float32Array };
  t.dispose();
  return out;
}

function activation(b: Builder, x: string, fn: string, name: string): string {
  switch (fn) {
    case "linear":
      return x;
    case "relu":
      return b.node("Relu", [x], name);
    case "elu":
      return b.node("Elu", [x], name, [float("alpha", 1)]);
    case "selu":
      return b.node("Selu", [x], name);
    case "sigmoid":
      return b.node("Sigmoid", [x], name);
    case "tanh":
      return b.node("Tanh", [x], name);
    case "softplus":
      return b.node("Softplus", [x], name);
    case "softmax":
      return b.node("Softmax", [x], name, [int("axis", -1)]);
    case "hardSigmoid":
      return b.node("HardSigmoid", [x], name, [float("alpha", 0.2), float("beta", 0.5)]);
    case "relu6":
      return b.node(
        "Clip",
        [
          x,
          b.init(`${name}/min`, [], Float32Array.of(0)),
          b.init(`${name}/max`, [], Float32Array.of(6)),
        ],
        name,
      );
    case "swish":
      return b.node("Mul", [x, b.node("Sigmoid", [x], name)], name);
    case "gelu": {
      // Opset 13 has no Gelu: x * 0.5 * (1 + erf(x / sqrt 2)), as tfjs computes it.
      const e = b.node(
        "Erf",
        [b.node("Mul", [x, b.init(`${name}/rsqrt2`, [], Float32Array.of(Math.SQRT1_2))], name)],
        name,
      );
      const half = b.node(
        "Mul",
        [
          b.node("Add", [e, b.init(`${name}/one`, [], Float32Array.of(1))], name),
          b.init(`${name}/half`, [], Float32Array.of(0.5)),
        ],
        name,
      );
      return b.node("Mul", [x, half], name);
    }
    default:
      throw new Error(`activation ${fn} has no ONNX lowering`);
  }
}

interface Tensor {
  readonly name: string;
  /** NHWC shape as tfjs sees it (without batch); ONNX holds rank-3 ones as CHW. */
  readonly shape: readonly number[];
}

/**
 * Exports a network as an ONNX model with the weights of a tfjs model built from the same IR
 * (random, trained, or loaded). The model takes NHWC input like the tfjs one and transposes to
 * NCHW once, so Conv runs in ONNX's native layout; partitioned convolutions are Conv with group.
 */
export function exportOnnx(graph: IRGraph, model: tf.LayersModel): Uint8Array {
  const plan = planModel(graph);
  const b = new Builder();
  const tensors = new Map<string, Tensor>();
  const weightsOf = (layer: PlannedLayer) =>
    model.getLayer(String(layer.config["name"])).getWeights();
  for (const layer of plan.layers) {
    const c = layer.config;
    const name = String(c["name"]);
    const ins = layer.inputs.map((i) => tensors.get(i)!);
    const x = ins[0]!;
    const outShape = (model.getLayer(name).outputShape as (number | null)[]).slice(1) as number[];
    let out: string;
    const spatial = (): [number, number] => [x.shape[0]!, x.shape[1]!];
    const convAttrs = (
      kernel: readonly number[],
      strides: readonly number[],
      dilation: readonly number[],
      group: number,
    ) => [
      ints("kernel_shape", kernel),
      ints("strides", strides),
      ints("dilations", dilation),
      ints("pads", tfPads(spatial(), kernel, strides, dilation, String(c["padding"]))),
      int("group", group),
    ];
    const k = (c["kernelSize"] as number[] | undefined) ?? [1, 1];
    const s = (c["strides"] as number[] | undefined) ?? [1, 1];
    const d = (c["dilationRate"] as number[] | undefined) ?? [1, 1];
    switch (layer.kind) {
      case "input":
        out = b.node("Transpose", ["input"], name, [ints("perm", [0, 3, 1, 2])]);
        break;
      case "conv2d":
      case "groupedConv2d": {
        const [w, bias] = weightsOf(layer);
        const kw = oihw(w!);
        const group = layer.kind === "groupedConv2d" ? Number(c["groups"]) : 1;
        const inputs = [x.name, b.init(`${name}/kernel`, kw.dims, kw.data)];
        if (bias) inputs.push(b.init(`${name}/bias`, bias.shape, bias.dataSync() as Float32Array));
        out = b.node("Conv", inputs, name, convAttrs(k, s, d, group));
        break;
      }
      case "depthwiseConv2d": {
        const [w, bias] = weightsOf(layer);
        const kw = depthwiseOihw(w!);
        const inputs = [x.name, b.init(`${name}/kernel`, kw.dims, kw.data)];
        if (bias) inputs.push(b.init(`${name}/bias`, bias.shape, bias.dataSync() as Float32Array));
        out = b.node("Conv", inputs, name, convAttrs(k, s, [1, 1], x.shape[2]!));
        break;
      }
      case "separableConv2d": {
        const [dw, pw, bias] = weightsOf(layer);
        const kd = depthwiseOihw(dw!);
        const mid = b.node(
          "Conv",
          [x.name, b.init(`${name}/depthwise_kernel`, kd.dims, kd.data)],
          name,
          convAttrs(k, s, [1, 1], x.shape[2]!),
        );
        const kp = oihw(pw!);
        const inputs = [mid, b.init(`${name}/pointwise_kernel`, kp.dims, kp.data)];
        if (bias) inputs.push(b.init(`${name}/bias`, bias.shape, bias.dataSync() as Float32Array));
        out = activation(
          b,
          b.node("Conv", inputs, name, [ints("kernel_shape", [1, 1])]),
          String(c["activation"] ?? "linear"),
          name,
        );
        break;
      }
      case "batchNormalization": {
        const ws = weightsOf(layer);
        const ch = x.shape[x.shape.length - 1]!;
        let i = 0;
        const gamma =
          c["scale"] === false
            ? new Float32Array(ch).fill(1)
            : (ws[i++]!.dataSync() as Float32Array);
        const beta =
          c["center"] === false ? new Float32Array(ch) : (ws[i++]!.dataSync() as Float32Array);
        const mean = ws[i++]!.dataSync() as Float32Array;
        const variance = ws[i++]!.dataSync() as Float32Array;
        out = b.node(
          "BatchNormalization",
          [
            x.name,
            b.init(`${name}/gamma`, [ch], gamma),
            b.init(`${name}/beta`, [ch], beta),
            b.init(`${name}/moving_mean`, [ch], mean),
            b.init(`${name}/moving_variance`, [ch], variance),
          ],
          name,
          [float("epsilon", Number(c["epsilon"]))],
        );
        break;
      }
      case "activation":
        out = activation(b, x.name, String(c["activation"]), name);
        break;
      case "leakyReLU":
        out = b.node("LeakyRelu", [x.name], name, [float("alpha", 0.3)]);
        break;
      case "maxPooling2d":
      case "averagePooling2d": {
        const pool = c["poolSize"] as number[];
        const attrs = [
          ints("kernel_shape", pool),
          ints("strides", s),
          ints("pads", tfPads(spatial(), pool, s, [1, 1], String(c["padding"]))),
        ];
        // TensorFlow averages over the window's real pixels only, never the padding.
        if (layer.kind === "averagePooling2d") attrs.push(int("count_include_pad", 0));
        out = b.node(
          layer.kind === "maxPooling2d" ? "MaxPool" : "AveragePool",
          [x.name],
          name,
          attrs,
        );
        break;
      }
      case "globalAveragePooling2d":
      case "globalMaxPooling2d":
        out = b.node(
          "Flatten",
          [
            b.node(
              layer.kind === "globalAveragePooling2d" ? "GlobalAveragePool" : "GlobalMaxPool",
              [x.name],
              name,
            ),
          ],
          name,
          [int("axis", 1)],
        );
        break;
      case "flatten": {
        // tfjs flattens in NHWC order: go back to it first.
        const nhwc =
          x.shape.length === 3
            ? b.node("Transpose", [x.name], name, [ints("perm", [0, 2, 3, 1])])
            : x.name;
        out = b.node("Flatten", [nhwc], name, [int("axis", 1)]);
        break;
      }
      case "dense": {
        const [w, bias] = weightsOf(layer);
        const inputs = [x.name, b.init(`${name}/kernel`, w!.shape, w!.dataSync() as Float32Array)];
        inputs.push(
          bias
            ? b.init(`${name}/bias`, bias.shape, bias.dataSync() as Float32Array)
            : b.init(`${name}/bias`, [w!.shape[1]!], new Float32Array(w!.shape[1]!)),
        );
        out = activation(
          b,
          b.node("Gemm", inputs, name),
          String(c["activation"] ?? "linear"),
          name,
        );
        break;
      }
      case "dropout":
        out = x.name;
        break;
      case "concatenate":
        out = b.node(
          "Concat",
          ins.map((t) => t.name),
          name,
          [int("axis", 1)],
        );
        break;
      case "add":
        out = b.node(
          "Add",
          ins.map((t) => t.name),
          name,
        );
        break;
    }
    tensors.set(layer.id, {
      name: out,
      shape: layer.kind === "input" ? [...graph.input] : outShape,
    });
  }
  const final = tensors.get(plan.output)!;
  // Back to NHWC for image outputs, so the ONNX model answers like the tfjs one.
  if (final.shape.length === 3)
    b.node("Transpose", [final.name], "output", [ints("perm", [0, 2, 3, 1])], "output");
  else b.node("Identity", [final.name], "output", [], "output");
  const dim = (v: number | string) => (typeof v === "number" ? { dimValue: v } : { dimParam: v });
  const valueInfo = (name: string, shape: (number | string)[]) => ({
    name,
    type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: shape.map(dim) } } },
  });
  const message = ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: "", version: opset }],
    producerName: "archc",
    producerVersion: "0.1.0",
    graph: {
      name: graph.network,
      node: b.nodes,
      initializer: b.initializers,
      input: [valueInfo("input", ["batch", ...graph.input])],
      output: [valueInfo("output", ["batch", ...final.shape])],
    },
  });
  return ModelProto.encode(message).finish();
}
