import * as tf from "@tensorflow/tfjs";

/**
 * Option normalisation and TensorFlow padding arithmetic shared by every grouped
 * convolution strategy, the cost model and the layer.
 */

export type Padding = "same" | "valid";

/** What a caller may pass: scalars stand for both spatial axes. */
export interface GroupedConvOptions {
  groups: number;
  strides?: number | readonly [number, number];
  padding?: Padding;
  dilationRate?: number | readonly [number, number];
}

/** The options with every default filled in and every pair spelt out. */
export interface ConvSpec {
  groups: number;
  strides: [number, number];
  padding: Padding;
  dilation: [number, number];
}

/**
 * Everything the choice of strategy may depend on. The cost-model cache is keyed by
 * this, so it holds sizes only, never tensors.
 */
export interface ConvShape {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outChannels: number;
  kernelHeight: number;
  kernelWidth: number;
  strides: [number, number];
  dilation: [number, number];
  padding: Padding;
  groups: number;
}

/** Output size and the explicit pads TensorFlow's rule gives. */
export interface ConvGeometry {
  outHeight: number;
  outWidth: number;
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
}

export function pair(
  v: number | readonly [number, number] | undefined,
  dflt: number,
): [number, number] {
  if (v === undefined) return [dflt, dflt];
  if (typeof v === "number") return [v, v];
  return [v[0], v[1]];
}

export function normalizeOptions(opts: GroupedConvOptions): ConvSpec {
  const spec: ConvSpec = {
    groups: opts.groups,
    strides: pair(opts.strides, 1),
    padding: opts.padding ?? "same",
    dilation: pair(opts.dilationRate, 1),
  };
  if (!Number.isInteger(spec.groups) || spec.groups < 1)
    throw new Error(`grouped conv: groups must be a positive integer, got ${spec.groups}`);
  for (const v of [...spec.strides, ...spec.dilation])
    if (!Number.isInteger(v) || v < 1)
      throw new Error(
        `grouped conv: strides and dilation must be positive integers, got strides ` +
          `${spec.strides.join("x")} dilation ${spec.dilation.join("x")}`,
      );
  if (spec.padding !== "same" && spec.padding !== "valid")
    throw new Error(
      `grouped conv: padding must be 'same' or 'valid', got '${String(spec.padding)}'`,
    );
  return spec;
}

/** One spatial axis: TF 'same' puts the odd pad after (bottom/right), as tf.conv2d does. */
function axis(
  size: number,
  k: number,
  stride: number,
  dilation: number,
  padding: Padding,
): [out: number, before: number, after: number] {
  const effective = (k - 1) * dilation + 1;
  if (padding === "valid") {
    const out = Math.ceil((size - effective + 1) / stride);
    return [out, 0, 0];
  }
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + effective - size, 0);
  const before = Math.floor(total / 2);
  return [out, before, total - before];
}

export function convGeometry(shape: ConvShape): ConvGeometry {
  const [outHeight, padTop, padBottom] = axis(
    shape.inHeight,
    shape.kernelHeight,
    shape.strides[0],
    shape.dilation[0],
    shape.padding,
  );
  const [outWidth, padLeft, padRight] = axis(
    shape.inWidth,
    shape.kernelWidth,
    shape.strides[1],
    shape.dilation[1],
    shape.padding,
  );
  if (outHeight < 1 || outWidth < 1)
    throw new Error(
      `grouped conv: a ${shape.kernelHeight}x${shape.kernelWidth} kernel with dilation ` +
        `${shape.dilation.join("x")} does not fit a ${shape.inHeight}x${shape.inWidth} input ` +
        `with '${shape.padding}' padding`,
    );
  return { outHeight, outWidth, padTop, padBottom, padLeft, padRight };
}

/** Checks the channel arithmetic and gathers the sizes of one call. */
export function convShapeOf(
  xShape: readonly number[],
  kernelShape: readonly number[],
  spec: ConvSpec,
): ConvShape {
  const [batch, inHeight, inWidth, inChannels] = xShape;
  const [kernelHeight, kernelWidth, groupIn, outChannels] = kernelShape;
  if (
    batch === undefined ||
    inHeight === undefined ||
    inWidth === undefined ||
    inChannels === undefined ||
    kernelHeight === undefined ||
    kernelWidth === undefined ||
    groupIn === undefined ||
    outChannels === undefined ||
    xShape.length !== 4 ||
    kernelShape.length !== 4
  )
    throw new Error(
      `grouped conv: expected an NHWC input and an [kh, kw, cin/groups, cout] kernel, got ` +
        `[${xShape.join(", ")}] and [${kernelShape.join(", ")}]`,
    );
  const g = spec.groups;
  if (inChannels % g !== 0 || outChannels % g !== 0 || groupIn * g !== inChannels)
    throw new Error(
      `grouped conv: groups=${g} needs input channels (${inChannels}) and output channels ` +
        `(${outChannels}) divisible by it and a kernel with ${inChannels / g} input channels ` +
        `per group, got kernel [${kernelShape.join(", ")}]`,
    );
  return {
    batch,
    inHeight,
    inWidth,
    inChannels,
    outChannels,
    kernelHeight,
    kernelWidth,
    strides: spec.strides,
    dilation: spec.dilation,
    padding: spec.padding,
    groups: g,
  };
}

/**
 * Spreads the taps of a kernel apart with zeros, so a dilated convolution becomes
 * an undilated one with a larger kernel. tfjs has no gradient for conv2d or
 * depthwiseConv2d with dilation > 1, and its ops refuse dilation together with
 * stride; a zero-filled kernel sidesteps both at the price of the extra taps.
 */
export function dilateKernel(kernel: tf.Tensor4D, dilation: [number, number]): tf.Tensor4D {
  const [dh, dw] = dilation;
  return tf.tidy(() => {
    let k = kernel;
    const [kh, kw, ci, co] = k.shape;
    if (dh > 1 && kh > 1) {
      const spread = tf.pad(k.reshape([kh, 1, kw * ci * co]), [
        [0, 0],
        [0, dh - 1],
        [0, 0],
      ]);
      k = spread
        .reshape<tf.Tensor4D>([kh * dh, kw, ci, co])
        .slice([0, 0, 0, 0], [(kh - 1) * dh + 1, kw, ci, co]);
    }
    const kh2 = k.shape[0];
    if (dw > 1 && kw > 1) {
      const spread = tf.pad(k.reshape([kh2, kw, 1, ci * co]), [
        [0, 0],
        [0, 0],
        [0, dw - 1],
        [0, 0],
      ]);
      k = spread
        .reshape<tf.Tensor4D>([kh2, kw * dw, ci, co])
        .slice([0, 0, 0, 0], [kh2, (kw - 1) * dw + 1, ci, co]);
    }
    return k;
  });
}

export function shapeKey(s: ConvShape): string {
  return (
    `n${s.batch}_h${s.inHeight}_w${s.inWidth}_ci${s.inChannels}_co${s.outChannels}` +
    `_k${s.kernelHeight}x${s.kernelWidth}_s${s.strides.join("x")}_d${s.dilation.join("x")}` +
    `_${s.padding}_g${s.groups}`
  );
}

/** Multiply-accumulates of the grouped convolution itself, whatever the strategy. */
export function groupedMacs(s: ConvShape): number {
  const g = convGeometry(s);
  return (
    s.batch *
    g.outHeight *
    g.outWidth *
    s.kernelHeight *
    s.kernelWidth *
    (s.inChannels / s.groups) *
    s.outChannels
  );
}
