import type { IRGraph, IRNode, NodeOf, Padding, Pads } from "./types.js";

/**
 * Convolution geometry, the one owner of it: the channels a node reads, the channels a
 * partitioned step splits, a separable convolution's two steps, and TensorFlow's output sizes
 * and 'same' pads. The elaborator computes shapes with it and every backend lowers with it.
 */

/** The channels (or features) a node reads: the last dimension of its first input; 0 for input. */
export function channelsIn(graph: IRGraph, node: IRNode): number {
  const first = node.inputs[0];
  if (first === undefined) return 0;
  const shape = graph.nodes[first]!.shape;
  return shape[shape.length - 1]!;
}

/** The channels `groups` partitions: a conv's input, a sepconv's spatial step's input. */
export function partitionedChannels(graph: IRGraph, node: NodeOf<"conv" | "sepconv">): number {
  return node.op === "sepconv" ? node.attrs.spatialChannels : channelsIn(graph, node);
}

/** `parts = depthwise` when every part is one channel, else the count (1 is regular). */
export function isDepthwise(graph: IRGraph, node: NodeOf<"conv" | "sepconv">): boolean {
  return node.attrs.groups === partitionedChannels(graph, node);
}

/** One step of a separable convolution: a grouped k x k spatial conv, or a 1x1 pointwise one. */
export interface SepStep {
  readonly kind: "spatial" | "pointwise";
  readonly inChannels: number;
  readonly outChannels: number;
  /** `groups` for the spatial step, 1 for the pointwise one. */
  readonly groups: number;
}

/** A separable convolution's two steps in the order they run, with their channel counts. */
export function sepconvSteps(node: NodeOf<"sepconv">, cin: number): readonly [SepStep, SepStep] {
  const a = node.attrs;
  const spatial: SepStep = {
    kind: "spatial",
    inChannels: a.spatialChannels,
    outChannels: a.spatialChannels * a.multiplier,
    groups: a.groups,
  };
  if (a.order === "spatial_first")
    return [
      spatial,
      { kind: "pointwise", inChannels: spatial.outChannels, outChannels: a.filters, groups: 1 },
    ];
  return [{ kind: "pointwise", inChannels: cin, outChannels: a.filters, groups: 1 }, spatial];
}

/** The channel count a sepconv's spatial step reads, for the elaborator to record. */
export function spatialStepChannels(
  order: "spatial_first" | "pointwise_first",
  cin: number,
  filters: number,
): number {
  return order === "spatial_first" ? cin : filters;
}

/** The extent of a dilated window: (kernel - 1) * dilation + 1. */
export function effectiveKernel(kernel: number, dilation: number): number {
  return (kernel - 1) * dilation + 1;
}

/**
 * Output size along one axis with TensorFlow's rules: 'same' is ceil(in / stride) whatever the
 * kernel; 'valid' is ceil((in - effective kernel + 1) / stride) and needs in >= effective kernel.
 */
export function outSize(
  input: number,
  kernel: number,
  stride: number,
  dilation: number,
  padding: Padding,
): number {
  if (padding === "same") return Math.ceil(input / stride);
  return Math.ceil((input - effectiveKernel(kernel, dilation) + 1) / stride);
}

/**
 * TensorFlow's 'same' padding as explicit pads, [top, left, bottom, right]: the total is what
 * makes the output ceil(in / stride), and the odd pixel goes bottom/right. 'valid' pads nothing.
 */
export function samePads(
  input: readonly number[],
  kernel: readonly number[],
  strides: readonly number[],
  dilation: readonly number[],
  padding: Padding,
): [number, number, number, number] {
  if (padding !== "same") return [0, 0, 0, 0];
  const total = [0, 1].map((i) =>
    Math.max(
      (Math.ceil(input[i]! / strides[i]!) - 1) * strides[i]! +
        effectiveKernel(kernel[i]!, dilation[i]!) -
        input[i]!,
      0,
    ),
  );
  const begin = total.map((t) => Math.floor(t / 2));
  return [begin[0]!, begin[1]!, total[0]! - begin[0]!, total[1]! - begin[1]!];
}

/**
 * A window layer's padding as [top, bottom, left, right], explicit (`pads`, the language's `pad`)
 * or TensorFlow's same/valid made explicit; what every backend that pads by hand pads with.
 */
export function layerPads(
  input: readonly number[],
  kernel: readonly number[],
  strides: readonly number[],
  dilation: readonly number[],
  padding: Padding,
  pads?: Pads,
): [number, number, number, number] {
  if (pads) return [pads[0], pads[1], pads[2], pads[3]];
  const [t, l, b, r] = samePads(input, kernel, strides, dilation, padding);
  return [t, b, l, r];
}

/** Whether explicit pads are the same on both sides of each axis (PyTorch's `padding=(h, w)`). */
export function symmetricPads(p: Pads): boolean {
  return p[0] === p[1] && p[2] === p[3];
}
