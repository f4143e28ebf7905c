import * as tf from "@tensorflow/tfjs";
import {
  type ConvShape,
  type ConvSpec,
  type GroupedConvOptions,
  convGeometry,
  convShapeOf,
  dilateKernel,
  normalizeOptions,
} from "./geometry.js";

/**
 * Lowerings of a grouped convolution onto ops tfjs has, each built only from
 * differentiable ops so the layer trains whichever is chosen. They compute the
 * same function; they differ in how much redundant work and how many kernel
 * launches they spend, which is what the cost model trades off.
 *
 * Kernel layout everywhere: [kh, kw, cin/groups, cout], output channel o belongs to
 * group floor(o / (cout/groups)), as in Keras Conv2D(groups=...).
 */

import { STRATEGY_NAMES, type StrategyName } from "./names.js";
import { groupedConv2dAvailable, groupedConv2dNative } from "../kernels/groupedConv.js";

export { STRATEGY_NAMES, isStrategyName, type StrategyName } from "./names.js";

export type StrategyFn = (
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  opts: GroupedConvOptions,
) => tf.Tensor4D;

/**
 * Elements above which a strategy's largest intermediate is judged too big to be
 * worth materialising (64 Mi floats = 256 MiB). All strategies stay correct beyond
 * it; the cost model just will not pick or time them there.
 */
export const MAX_INTERMEDIATE_ELEMENTS = 64 * 1024 * 1024;

function prepare(x: tf.Tensor4D, kernel: tf.Tensor4D, opts: GroupedConvOptions) {
  const spec = normalizeOptions(opts);
  const shape = convShapeOf(x.shape, kernel.shape, spec);
  return { spec, shape };
}

/** The conv2d every conv-based strategy ends in; dilation is already in the kernel. */
function denseConv(x: tf.Tensor4D, kernel: tf.Tensor4D, spec: ConvSpec): tf.Tensor4D {
  return tf.conv2d(x, kernel, spec.strides, spec.padding, "NHWC", [1, 1]);
}

function undilated(kernel: tf.Tensor4D, spec: ConvSpec): tf.Tensor4D {
  return spec.dilation[0] > 1 || spec.dilation[1] > 1
    ? dilateKernel(kernel, spec.dilation)
    : kernel;
}

/**
 * tf.unstack along axis 0. A leading axis of size 1 is reshaped away instead,
 * because tfjs's Unpack gradient hands a lone output's gradient to tf.stack as a
 * bare tensor and throws.
 */
function unstack0(t: tf.Tensor): tf.Tensor[] {
  return t.shape[0] === 1 ? [t.reshape(t.shape.slice(1))] : tf.unstack(t);
}

/**
 * [n, h, w, g*c] -> g tensors [n, h, w, c]. Goes through a group-major transpose
 * because slicing or concatenating along the channel axis copies one pixel row at a
 * time in the wasm backend (a JS loop), which costs more than the convolutions once
 * there are a few dozen groups; slices of a group-major tensor are contiguous.
 */
function splitChannels(x: tf.Tensor4D, groups: number): tf.Tensor4D[] {
  const [n, h, w, c] = x.shape;
  const per = c / groups;
  const major = x.reshape([n * h * w, groups, per]).transpose([1, 0, 2]);
  return unstack0(major).map((t) => t.reshape<tf.Tensor4D>([n, h, w, per]));
}

/** Inverse of splitChannels: stacking on a new leading axis is a contiguous copy. */
function concatChannels(parts: tf.Tensor4D[]): tf.Tensor4D {
  const [n, h, w, per] = parts[0]!.shape;
  return tf
    .stack(parts.map((p) => p.reshape([n * h * w, per])))
    .transpose([1, 0, 2])
    .reshape<tf.Tensor4D>([n, h, w, per * parts.length]);
}

/** [kh, kw, gi, g*go] -> g kernels [kh, kw, gi, go]. */
function splitKernel(k: tf.Tensor4D, groups: number): tf.Tensor4D[] {
  const [kh, kw, gi, o] = k.shape;
  const go = o / groups;
  const major = k.reshape([kh * kw * gi, groups, go]).transpose([1, 0, 2]);
  return unstack0(major).map((t) => t.reshape<tf.Tensor4D>([kh, kw, gi, go]));
}

/** One conv2d per group on a channel slice of the input; launches grow with groups. */
export const splitStrategy: StrategyFn = (x, kernel, opts) =>
  tf.tidy(() => {
    const { spec } = prepare(x, kernel, opts);
    const k = undilated(kernel, spec);
    const g = spec.groups;
    if (g === 1) return denseConv(x, k, spec);
    const xs = splitChannels(x, g);
    const ks = splitKernel(k, g);
    return concatChannels(xs.map((xi, i) => denseConv(xi, ks[i]!, spec)));
  });

/** 0/1 mask [cin, cout] that keeps the diagonal blocks of a grouped kernel. */
function blockMask(cin: number, cout: number, groups: number): tf.Tensor2D {
  const gi = cin / groups;
  const go = cout / groups;
  const m = new Float32Array(cin * cout);
  for (let c = 0; c < cin; c++) {
    const g = Math.floor(c / gi);
    m.fill(1, c * cout + g * go, c * cout + (g + 1) * go);
  }
  return tf.tensor2d(m, [cin, cout]);
}

/**
 * One dense conv2d with a block-diagonal kernel: a single launch, but groups times
 * the multiply-accumulates. Tiling then masking keeps the kernel construction two
 * differentiable ops whatever the group count (the tile gradient sums the copies,
 * and the mask zeroes the gradient of every off-diagonal copy).
 */
export const blockdiagStrategy: StrategyFn = (x, kernel, opts) =>
  tf.tidy(() => {
    const { spec, shape } = prepare(x, kernel, opts);
    const k = undilated(kernel, spec);
    const g = spec.groups;
    if (g === 1) return denseConv(x, k, spec);
    const dense = tf.mul<tf.Tensor4D>(
      tf.tile(k, [1, 1, g, 1]),
      blockMask(shape.inChannels, shape.outChannels, g),
    );
    return denseConv(x, dense, spec);
  });

/**
 * The block-diagonal dense kernel [kh, kw, cin, cout] of a grouped kernel [kh, kw, cin/groups,
 * cout]: input channel c feeds only the outputs of its own group, zeros elsewhere. Plain ops,
 * for `dense` (which keeps them off the tape) and for inference, which expands once.
 */
export function blockDiagonalKernel(kernel: tf.Tensor4D, groups: number): tf.Tensor4D {
  if (groups === 1) return kernel.clone();
  return tf.tidy(() => {
    const [, , gi, cout] = kernel.shape;
    return tf.mul<tf.Tensor4D>(
      tf.tile(kernel, [1, 1, groups, 1]),
      blockMask(gi * groups, cout, groups),
    );
  });
}

/** The inverse read: a dense kernel's diagonal blocks as a grouped kernel (off-block entries dropped). */
function diagonalBlocks(dense: tf.Tensor4D, groups: number): tf.Tensor4D {
  const [kh, kw, cin, cout] = dense.shape;
  const gi = cin / groups;
  // Masked, every input channel's row holds only its own group's outputs, so the sum over the
  // groups' copies of a row picks exactly one block per output.
  return tf
    .mul(dense, blockMask(cin, cout, groups))
    .reshape([kh, kw, groups, gi, cout])
    .sum(2) as tf.Tensor4D;
}

/**
 * One regular conv2d (XNNPACK's GEMM on wasm) with the block-diagonal kernel: groups times the
 * multiply-accumulates, but at the speed of the regular conv, so at low group counts, where the
 * grouped lowerings run below that speed, no grouped layer is slower than its regular
 * counterpart. Unlike `blockdiag` the expansion is not taped: the gradients are the dense conv's
 * own (input: the transposed conv with the dense kernel; kernel: the dense filter gradient read
 * back on the diagonal blocks), and what the backward pass keeps is x and the dense kernel.
 * The inference program expands the kernel once when it is built (blockDiagonalKernel).
 */
export const denseStrategy: StrategyFn = (x, kernel, opts) =>
  tf.tidy(() => {
    const { spec } = prepare(x, kernel, opts);
    const k = undilated(kernel, spec);
    const g = spec.groups;
    if (g === 1) return denseConv(x, k, spec);
    const conv = tf.customGrad((...args) => {
      const [xi, ki, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
      const dense = blockDiagonalKernel(ki, g);
      save([xi, dense]);
      return {
        value: denseConv(xi, dense, spec),
        gradFunc: (dy, saved) => {
          const [xs, ds] = saved as [tf.Tensor4D, tf.Tensor4D];
          const dy4 = dy as tf.Tensor4D;
          const pad = spec.padding;
          const dx = tf.conv2dTranspose(dy4, ds, xs.shape, spec.strides, pad);
          const dDense = tf.engine().runKernel("Conv2DBackpropFilter", { x: xs, dy: dy4 }, {
            strides: spec.strides,
            pad,
            dataFormat: "NHWC",
            filterShape: ds.shape,
          } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
          return [dx, diagonalBlocks(dDense, g)];
        },
      };
    });
    return conv(x, k) as tf.Tensor4D;
  });

/**
 * `dense` for inference, where the kernel does not change: the undilated block-diagonal kernel,
 * made once, that the regular conv (denseInferenceConv, or a fused conv2d with the layer's
 * strides and padding, no dilation) then runs on.
 */
export function denseInferenceKernel(kernel: tf.Tensor4D, opts: GroupedConvOptions): tf.Tensor4D {
  const spec = normalizeOptions(opts);
  return tf.tidy(() => blockDiagonalKernel(undilated(kernel, spec), spec.groups));
}

/** The convolution on denseInferenceKernel's kernel. */
export function denseInferenceConv(
  x: tf.Tensor4D,
  dense: tf.Tensor4D,
  opts: GroupedConvOptions,
): tf.Tensor4D {
  return denseConv(x, dense, normalizeOptions(opts));
}

/**
 * depthwiseConv2d with channel multiplier cout/groups computes, for every input
 * channel, its contribution to every output channel of its group; summing those
 * over the cin/groups channels of a group gives the grouped output. The work is
 * exactly the grouped MACs, but the intermediate is cin/groups times the output,
 * so it suits many small groups.
 */
export const depthwiseStrategy: StrategyFn = (x, kernel, opts) =>
  tf.tidy(() => {
    const { spec, shape } = prepare(x, kernel, opts);
    const g = spec.groups;
    const gi = shape.inChannels / g;
    const go = shape.outChannels / g;
    const k = undilated(kernel, spec);
    const [kh, kw] = k.shape;
    // [kh, kw, gi, g*go] -> [kh, kw, g*gi, go]: input channel g*gi+i carries the
    // weights it contributes to the go outputs of its group.
    const dwKernel =
      gi === 1
        ? k.reshape<tf.Tensor4D>([kh, kw, shape.inChannels, go])
        : k
            .reshape([kh * kw, gi, g, go])
            .transpose([0, 2, 1, 3])
            .reshape<tf.Tensor4D>([kh, kw, shape.inChannels, go]);
    const y = tf.depthwiseConv2d(x, dwKernel, spec.strides, spec.padding, "NHWC", [1, 1]);
    const [n, ho, wo] = y.shape;
    if (gi === 1) return y;
    // Depthwise output channel (g*gi+i)*go+j: sum over i.
    return y
      .reshape([n * ho * wo, g, gi, go])
      .sum(2)
      .reshape<tf.Tensor4D>([n, ho, wo, shape.outChannels]);
  });

/**
 * The depthwise strategy unrolled over the multiplier: for each of the cout/groups
 * output slots j, one multiplier-1 depthwise conv over all input channels (channel
 * g*gi+i weighted by kernel[.., i, g*go+j]) followed by a sum over the gi adjacent
 * channels of each group. Multiplier-1 depthwise is the one shape backends tune
 * hardest (XNNPACK's dwconv kernels in wasm; a multiplier sends it down a generic
 * GEMM path), and summing adjacent channels is a reduction over the innermost axis,
 * so this wins when cout/groups is small, i.e. near the depthwise end.
 */
export const channelwiseStrategy: StrategyFn = (x, kernel, opts) =>
  tf.tidy(() => {
    const { spec, shape } = prepare(x, kernel, opts);
    const g = spec.groups;
    const gi = shape.inChannels / g;
    const go = shape.outChannels / g;
    const k = undilated(kernel, spec);
    const [kh, kw] = k.shape;
    // [kh, kw, gi, g, go] -> go kernels [kh, kw, g*gi, 1], input channel order.
    const perSlot = k
      .reshape([kh * kw, gi, g, go])
      .transpose([3, 0, 2, 1])
      .reshape([go, kh, kw, shape.inChannels, 1]);
    // A tidy per slot frees each full-width depthwise output once it is summed.
    const slots = unstack0(perSlot).map((kj) =>
      tf.tidy(() => {
        const z = tf.depthwiseConv2d(
          x,
          kj.reshape<tf.Tensor4D>([kh, kw, shape.inChannels, 1]),
          spec.strides,
          spec.padding,
          "NHWC",
          [1, 1],
        );
        const [n, ho, wo] = z.shape;
        return gi === 1 ? z.reshape([n * ho * wo, g]) : z.reshape([n * ho * wo, g, gi]).sum(2);
      }),
    );
    const geo = convGeometry(shape);
    const y = go === 1 ? slots[0]! : tf.stack(slots).transpose([1, 2, 0]);
    return y.reshape<tf.Tensor4D>([shape.batch, geo.outHeight, geo.outWidth, shape.outChannels]);
  });

/**
 * The grouped convolution as one depthwise convolution over the groups. Folding the
 * cin/groups channels of each group into the width axis (x[n, h, w*gi + i, g]) turns
 * a group's channel sum into part of a wider spatial window: a depthwise conv over
 * the g "channels" with multiplier cout/groups, kernel kh x kw*gi and width stride
 * sw*gi visits exactly the inputs of one grouped tap set. The [kh, kw, gi, g*go]
 * kernel already has that layout in memory, so it only needs a reshape; the input
 * costs one transpose of its own size. Work equals the grouped MACs, with no
 * intermediate larger than the input.
 */
export const interleaveStrategy: StrategyFn = (x, kernel, opts) =>
  tf.tidy(() => {
    const { spec, shape } = prepare(x, kernel, opts);
    const geo = convGeometry(shape);
    const g = spec.groups;
    const gi = shape.inChannels / g;
    const go = shape.outChannels / g;
    const k = undilated(kernel, spec);
    const [kh, kw] = k.shape;
    // Pads are applied here because 'same' on the folded width would pad in units
    // of folded columns, not of pixels.
    const padded =
      geo.padTop + geo.padBottom + geo.padLeft + geo.padRight === 0
        ? x
        : tf.pad(x, [
            [0, 0],
            [geo.padTop, geo.padBottom],
            [geo.padLeft, geo.padRight],
            [0, 0],
          ]);
    const [n, hp, wp] = padded.shape;
    const folded =
      g === 1 || gi === 1
        ? padded.reshape<tf.Tensor4D>([n, hp, wp * gi, g])
        : padded
            .reshape([n * hp * wp, g, gi])
            .transpose([0, 2, 1])
            .reshape<tf.Tensor4D>([n, hp, wp * gi, g]);
    const y = tf.depthwiseConv2d(
      folded,
      k.reshape<tf.Tensor4D>([kh, kw * gi, g, go]),
      [spec.strides[0], spec.strides[1] * gi],
      "valid",
      "NHWC",
      [1, 1],
    );
    const [, ho, wo] = y.shape;
    if (ho === geo.outHeight && wo === geo.outWidth) return y;
    return y.slice([0, 0, 0, 0], [n, geo.outHeight, geo.outWidth, shape.outChannels]);
  });

/**
 * Pads for the tap strategies: TF's pads, plus enough at the far end that every tap
 * window spans whole stride cells (out*stride rows), which lets a reshape and a
 * slice do the striding. tf.stridedSlice would be simpler but has no gradient.
 */
function tapWindows(x: tf.Tensor4D, shape: ConvShape, spec: ConvSpec): tf.Tensor3D[] {
  const geo = convGeometry(shape);
  const [sh, sw] = spec.strides;
  const [dh, dw] = spec.dilation;
  const g = spec.groups;
  const gi = shape.inChannels / g;
  const n = shape.batch;
  const { outHeight: ho, outWidth: wo } = geo;
  const needH = (shape.kernelHeight - 1) * dh + ho * sh;
  const needW = (shape.kernelWidth - 1) * dw + wo * sw;
  const hp0 = shape.inHeight + geo.padTop + geo.padBottom;
  const wp0 = shape.inWidth + geo.padLeft + geo.padRight;
  const extraH = Math.max(needH - hp0, 0);
  const extraW = Math.max(needW - wp0, 0);
  const hp = hp0 + extraH;
  const wp = wp0 + extraW;
  const padded =
    hp === shape.inHeight && wp === shape.inWidth
      ? x
      : tf.pad(x, [
          [0, 0],
          [geo.padTop, geo.padBottom + extraH],
          [geo.padLeft, geo.padRight + extraW],
          [0, 0],
        ]);
  // Group-major [g*n, hp, wp, gi], so each tap window reshapes straight into the
  // [g, m, gi] operand of a batched matMul without a transpose per tap.
  const grouped =
    g === 1
      ? padded
      : padded
          .reshape([n * hp * wp, g, gi])
          .transpose([1, 0, 2])
          .reshape<tf.Tensor4D>([g * n, hp, wp, gi]);
  const m = n * ho * wo;
  const windows: tf.Tensor3D[] = [];
  for (let a = 0; a < shape.kernelHeight; a++) {
    for (let b = 0; b < shape.kernelWidth; b++) {
      let w: tf.Tensor4D = grouped.slice([0, a * dh, b * dw, 0], [g * n, ho * sh, wo * sw, gi]);
      if (sh > 1 || sw > 1)
        w = w
          .reshape<tf.Tensor4D>([g * n * ho, sh, wo, sw * gi])
          .slice([0, 0, 0, 0], [g * n * ho, 1, wo, gi]);
      windows.push(w.reshape<tf.Tensor3D>([g, m, gi]));
    }
  }
  return windows;
}

/** [g, m, go] -> NHWC with output channel g*go+j. */
function fromGroupMajor(y: tf.Tensor3D, shape: ConvShape): tf.Tensor4D {
  const geo = convGeometry(shape);
  const ordered = shape.groups === 1 ? y : y.transpose([1, 0, 2]);
  return ordered.reshape<tf.Tensor4D>([
    shape.batch,
    geo.outHeight,
    geo.outWidth,
    shape.outChannels,
  ]);
}

/**
 * Per kernel tap, a matMul batched over groups: [g, m, gi] x [g, gi, go], summed
 * over taps. Exactly the grouped MACs, dilation and stride for free (they are just
 * slice offsets), and the launch count depends on the kernel size, not on groups.
 */
export const tapsStrategy: StrategyFn = (x, kernel, opts) =>
  tf.tidy(() => {
    const { spec, shape } = prepare(x, kernel, opts);
    const g = spec.groups;
    const gi = shape.inChannels / g;
    const go = shape.outChannels / g;
    const kt = shape.kernelHeight * shape.kernelWidth;
    const windows = tapWindows(x, shape, spec);
    // [kt, g, gi, go]: one batched right-hand operand per tap.
    const k = kernel.reshape([kt, gi, g, go]).transpose([0, 2, 1, 3]);
    let acc: tf.Tensor3D | undefined;
    windows.forEach((w, t) => {
      const kTap = k.slice([t, 0, 0, 0], [1, g, gi, go]).reshape<tf.Tensor3D>([g, gi, go]);
      const part = tf.matMul<tf.Tensor3D>(w, kTap);
      acc = acc === undefined ? part : tf.add<tf.Tensor3D>(acc, part);
    });
    return fromGroupMajor(acc!, shape);
  });

/**
 * The taps strategy with the windows concatenated into patches [g, m, kt*gi], so a
 * single batched matMul does all the work: fewer launches than taps, at the cost of
 * materialising the patches (kh*kw times the input).
 */
export const im2colStrategy: StrategyFn = (x, kernel, opts) =>
  tf.tidy(() => {
    const { spec, shape } = prepare(x, kernel, opts);
    const g = spec.groups;
    const gi = shape.inChannels / g;
    const go = shape.outChannels / g;
    const kt = shape.kernelHeight * shape.kernelWidth;
    const windows = tapWindows(x, shape, spec);
    const patches = windows.length === 1 ? windows[0]! : tf.concat(windows, 2);
    // Row order tap-major then channel, matching the concatenation above.
    const k = kernel.reshape([kt * gi, g, go]);
    const kg = g === 1 ? k.reshape([1, kt * gi, go]) : k.transpose([1, 0, 2]);
    return fromGroupMajor(tf.matMul<tf.Tensor3D>(patches, kg), shape);
  });

/**
 * archc's own grouped convolution kernel (../kernels/groupedConv.ts: SIMD wasm, forward and
 * both gradients), one launch whatever the group count, exactly the grouped MACs, dilation
 * and stride inside the kernel. Only the wasm backend has it; elsewhere this is `split`
 * (isApplicable keeps the cost model from choosing it there).
 */
export const nativeStrategy: StrategyFn = (x, kernel, opts) => {
  if (!groupedConv2dAvailable()) return splitStrategy(x, kernel, opts);
  const spec = normalizeOptions(opts);
  convShapeOf(x.shape, kernel.shape, spec); // the same checks and messages as the others
  return groupedConv2dNative(x, kernel, {
    strides: spec.strides,
    pad: spec.padding,
    dilations: spec.dilation,
    groups: spec.groups,
  });
};

export const STRATEGIES: Readonly<Record<StrategyName, StrategyFn>> = {
  split: splitStrategy,
  blockdiag: blockdiagStrategy,
  depthwise: depthwiseStrategy,
  channelwise: channelwiseStrategy,
  interleave: interleaveStrategy,
  taps: tapsStrategy,
  im2col: im2colStrategy,
  native: nativeStrategy,
  dense: denseStrategy,
};

function elements(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * Whether a strategy is worth considering for a shape: every strategy is correct
 * everywhere, but some materialise intermediates that grow with the wrong factor
 * (the depthwise sum with cin/groups, the dense kernel with groups).
 */
export function isApplicable(name: StrategyName, s: ConvShape): boolean {
  const geo = convGeometry(s);
  const m = s.batch * geo.outHeight * geo.outWidth;
  const kh = (s.kernelHeight - 1) * s.dilation[0] + 1;
  const kw = (s.kernelWidth - 1) * s.dilation[1] + 1;
  switch (name) {
    case "split":
    case "interleave":
    case "taps":
      return true;
    case "blockdiag":
    case "dense":
      return elements([kh, kw, s.inChannels, s.outChannels]) <= MAX_INTERMEDIATE_ELEMENTS;
    case "depthwise":
    case "channelwise":
      // Full-width depthwise outputs, summed down afterwards; gradients keep them all.
      return m * s.inChannels * (s.outChannels / s.groups) <= MAX_INTERMEDIATE_ELEMENTS;
    case "im2col":
      return m * s.kernelHeight * s.kernelWidth * s.inChannels <= MAX_INTERMEDIATE_ELEMENTS;
    case "native":
      return groupedConv2dAvailable();
  }
}

export function applicableStrategies(s: ConvShape): StrategyName[] {
  return STRATEGY_NAMES.filter((n) => isApplicable(n, s));
}
