import type { IRGraph, IRNode, NodeOf, Padding, Pads } from "./types.js";

/**
 * Convolution geometry, the one owner of it: the channels a node reads, the channels a
 * partitioned step splits, a separable convolution's two steps, and TensorFlow's output sizes
 * and 'same' pads. The elaborator computes shapes with it and every backend lowers with it.
 */

/** What the geometry reads of a graph: its nodes (a graph still growing, in generated code's runtime). */
export type GraphNodes = Pick<IRGraph, "nodes">;

/** The channels (or features) a node reads: the last dimension of its first input; 0 for input. */
export function channelsIn(graph: GraphNodes, node: IRNode): number {
  const first = node.inputs[0];
  if (first === undefined) return 0;
  const shape = graph.nodes[first]!.shape;
  return shape[shape.length - 1]!;
}

/** The channels `groups` partitions: a conv's input, a sepconv's spatial step's input. */
export function partitionedChannels(graph: GraphNodes, node: NodeOf<"conv" | "sepconv">): number {
  return node.op === "sepconv" ? node.attrs.spatialChannels : channelsIn(graph, node);
}

/** `parts = depthwise` when every part is one channel, else the count (1 is regular). */
export function isDepthwise(graph: GraphNodes, node: NodeOf<"conv" | "sepconv">): boolean {
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

/** An input's height and width after explicit pads [top, bottom, left, right] (none: as is). */
export function paddedInput(input: readonly number[], pads?: Pads): [number, number] {
  const [t, b, l, r] = pads ?? [0, 0, 0, 0];
  return [input[0]! + t + b, input[1]! + l + r];
}

/** Whether explicit pads are the same on both sides of each axis (PyTorch's `padding=(h, w)`). */
export function symmetricPads(p: Pads): boolean {
  return p[0] === p[1] && p[2] === p[3];
}

/**
 * Output size along one axis of a window over explicit padding, PyTorch's rule:
 * floor((in + before + after - e) / stride) + 1, or with `ceil` (ceil_mode) rounded up, less the
 * last window when it would start past the input and the `before` padding.
 */
export function paddedOutSize(
  input: number,
  kernel: number,
  stride: number,
  dilation: number,
  before: number,
  after: number,
  ceil = false,
): number {
  const span = input + before + after - effectiveKernel(kernel, dilation);
  const out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  return ceil && (out - 1) * stride >= input + before ? out - 1 : out;
}

/**
 * A ceil-mode pool's padding with the rows and columns its last windows run past the padded
 * input added at the bottom and right, [top, bottom, left, right]: pooling 'valid' over the
 * input padded so gives ceil mode's output (the overhang is -infinity for max pooling, and zeros
 * for average pooling that `poolDivisors` leaves out of the count).
 */
export function ceilPads(
  input: readonly number[],
  node: {
    readonly pool: readonly number[];
    readonly strides: readonly number[];
    readonly pads?: Pads;
    readonly ceil?: true;
  },
): [number, number, number, number] {
  const p = node.pads ?? [0, 0, 0, 0];
  if (!node.ceil) return [p[0], p[1], p[2], p[3]];
  const extra = [0, 1].map((i) => {
    const [before, after] = [p[2 * i]!, p[2 * i + 1]!];
    const out = paddedOutSize(input[i]!, node.pool[i]!, node.strides[i]!, 1, before, after, true);
    return Math.max(0, (out - 1) * node.strides[i]! + node.pool[i]! - (input[i]! + before + after));
  });
  return [p[0], p[1] + extra[0]!, p[2], p[3] + extra[1]!];
}

/**
 * Average pooling's divisors per output row and column, PyTorch's with count_include_pad: a
 * window counts the input and the padding it covers but not the overhang past the padding that
 * ceil mode adds, so a window's divisor is rows[i] * columns[j]; undefined when every window
 * counts the whole window (no overhang), as a plain 'valid' pool over the padded input divides.
 */
export function poolDivisors(
  input: readonly number[],
  node: {
    readonly pool: readonly number[];
    readonly strides: readonly number[];
    readonly pads?: Pads;
    readonly ceil?: true;
  },
): { readonly rows: readonly number[]; readonly columns: readonly number[] } | undefined {
  if (!node.ceil) return undefined;
  const p = node.pads ?? [0, 0, 0, 0];
  const [rows, columns] = [0, 1].map((i) => {
    const [before, after] = [p[2 * i]!, p[2 * i + 1]!];
    const k = node.pool[i]!;
    const s = node.strides[i]!;
    const out = paddedOutSize(input[i]!, k, s, 1, before, after, true);
    return Array.from({ length: out }, (_, o) => {
      const start = o * s - before;
      return Math.min(start + k, input[i]! + after) - start;
    });
  });
  const whole = rows!.every((r) => r === node.pool[0]) && columns!.every((c) => c === node.pool[1]);
  return whole ? undefined : { rows: rows!, columns: columns! };
}
