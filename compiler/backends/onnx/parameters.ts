import { channelsIn, sepconvSteps } from "../../language/ir/geometry.js";
import type { IRGraph } from "../../language/ir/types.js";

/**
 * How a parameter is drawn when no weights are given: `kernel` Glorot-uniform with the fans
 * Keras would use, `bias` and the batch-norm vectors from the ranges in random.ts.
 */
export type Init = "kernel" | "bias" | "gamma" | "beta" | "moving_mean" | "moving_variance";

/** One parameter the ONNX model holds, by its initializer name. */
export interface ParameterSpec {
  readonly name: string;
  /** The IR node it belongs to. */
  readonly node: string;
  readonly dims: readonly number[];
  readonly init: Init;
  /** For kernels: the fans Keras' Glorot-uniform uses, so random models look like tfjs' fresh ones. */
  readonly fans?: readonly [number, number];
}

/** Which part of a node a kernel belongs to: the node itself, or a separable step. */
export type KernelPart = "layer" | "spatial" | "pointwise";

/**
 * The naming contract of ONNX initializers: the IR node's name plus `/kernel` and `/bias` (conv,
 * dense), `/spatial/kernel`, `/pointwise/kernel` and one `/bias` (sepconv, whichever step comes
 * last), `/gamma`, `/beta`, `/moving_mean`, `/moving_variance` (bn), `/gamma`, `/beta` (layernorm) and
 * `/gamma` (layerscale).
 */
export function parameterName(node: string, weight: string, part: KernelPart = "layer"): string {
  return part === "layer" || weight !== "kernel" ? `${node}/${weight}` : `${node}/${part}/kernel`;
}

/**
 * Every parameter of the exported model, in graph order (names: `parameterName`; gamma only with
 * scale, beta only with center). Kernels are OIHW: conv [filters, cin/groups, kh, kw]; dense
 * [in, units] (Gemm's B, not transposed, as tfjs stores it).
 */
export function onnxParameters(graph: IRGraph): ParameterSpec[] {
  const out: ParameterSpec[] = [];
  const kernel = (node: string, part: KernelPart, dims: number[]) =>
    out.push({
      name: parameterName(node, "kernel", part),
      node,
      dims,
      init: "kernel",
      fans: [dims[1]! * dims[2]! * dims[3]!, dims[0]! * dims[2]! * dims[3]!],
    });
  const vector = (node: string, init: Exclude<Init, "kernel">, n: number) =>
    out.push({ name: parameterName(node, init), node, dims: [n], init });
  for (const node of graph.nodes) {
    const cin = channelsIn(graph, node);
    const name = node.name;
    switch (node.op) {
      case "conv": {
        const a = node.attrs;
        kernel(name, "layer", [a.filters, cin / a.groups, ...a.kernel]);
        if (a.useBias) vector(name, "bias", a.filters);
        break;
      }
      case "sepconv": {
        const a = node.attrs;
        for (const step of sepconvSteps(node, cin)) {
          const k = step.kind === "spatial" ? a.kernel : [1, 1];
          kernel(name, step.kind, [step.outChannels, step.inChannels / step.groups, ...k]);
        }
        if (a.useBias) vector(name, "bias", a.filters);
        break;
      }
      case "bn": {
        if (node.attrs.scale) vector(name, "gamma", cin);
        if (node.attrs.center) vector(name, "beta", cin);
        vector(name, "moving_mean", cin);
        vector(name, "moving_variance", cin);
        break;
      }
      case "layernorm": {
        if (node.attrs.scale) vector(name, "gamma", cin);
        if (node.attrs.center) vector(name, "beta", cin);
        break;
      }
      case "layerscale":
        vector(name, "gamma", cin);
        break;
      case "dense": {
        const dims = [cin, node.attrs.units];
        out.push({
          name: `${name}/kernel`,
          node: name,
          dims,
          init: "kernel",
          fans: [cin, dims[1]!],
        });
        if (node.attrs.useBias) vector(name, "bias", node.attrs.units);
        break;
      }
      default:
        break;
    }
  }
  return out;
}
