import * as tf from "@tensorflow/tfjs";
import { convInfo, handOff, replacing, withTensors, type ConvAttrs } from "./common.js";

// Why: tfjs-backend-wasm 4.22's convolutions and pools (Conv2D, FusedConv2D,
// DepthwiseConv2dNative, FusedDepthwiseConv2D, MaxPool, AvgPool) allocate their output at the
// shape tfjs-core's computeConv2DInfo gives, but XNNPACK computes its own output size from the
// pads, floor((in + pads - effective kernel) / stride) + 1, and writes that many rows and
// columns. The two disagree in three cases (differential fuzz against tfjs-backend-cpu,
// test/backends/tfjs/convFamilyFuzz.test.ts):
//   - a numeric pad where the effective kernel is not square or the strides differ:
//     tfjs-core computes the output width from the kernel's height and the height's stride;
//   - a dimRoundingMode ('ceil', 'round') that rounds up where XNNPACK floors;
//   - 'same' on Conv2D and the depthwise/fused kernels, which hand XNNPACK TF's 'same' flag:
//     where a stride above the effective kernel leaves tfjs' total pad clamped at 0,
//     XNNPACK's (out - 1) * stride + kernel - in is negative and wraps as unsigned.
// Where XNNPACK's output is larger the kernel writes past its tensor and corrupts the heap
// ("memory access out of bounds" at a later allocation); where it is smaller the rest of the
// tensor is left as it was (wrong values). Here such cases run the same kernel with explicit
// pads that make XNNPACK's size cover tfjs' (the top and left pads as tfjs has them, the
// bottom and right ones as far as tfjs' last output reaches), then keep tfjs' shape: every
// kept output reads the same pixels as tfjs-backend-cpu's (padding reads zero), so the results
// are cpu's. The other cases go to wasm's kernel untouched.
// A fourth case is the pools' alone: a pad as large as the window leaves windows wholly in the
// padding, where XNNPACK's MaxPool gave values from elsewhere (1 for cpu's -Infinity) and its
// AvgPool -Infinity for cpu's NaN (an empty mean). Those pools are composed instead
// (`poolOverPadding`): max over a copy padded with -Infinity, and the mean as the zero-padded
// window sum over the count of input pixels in the window.

type Shape4 = [number, number, number, number];

/** The size XNNPACK gives one spatial axis of the output: floor, from the pads it is handed. */
const xnnpackSize = (
  inSize: number,
  before: number,
  after: number,
  kernel: number,
  stride: number,
) => Math.max(0, Math.floor((inSize + before + after - kernel) / stride) + 1);

/**
 * Whether wasm's own kernel would write another output shape than tfjs' `info` (or, with
 * `sameFlag`, wrap TF 'same' pads): the cases above.
 */
export function xnnpackDisagrees(info: tf.backend_util.Conv2DInfo, sameFlag: boolean): boolean {
  const p = info.padInfo;
  const eh = info.effectiveFilterHeight;
  const ew = info.effectiveFilterWidth;
  if (sameFlag && p.type === "SAME")
    return (
      (info.outHeight - 1) * info.strideHeight + eh < info.inHeight ||
      (info.outWidth - 1) * info.strideWidth + ew < info.inWidth
    );
  return (
    xnnpackSize(info.inHeight, p.top, p.bottom, eh, info.strideHeight) !== info.outHeight ||
    xnnpackSize(info.inWidth, p.left, p.right, ew, info.strideWidth) !== info.outWidth
  );
}

/**
 * Explicit NHWC pads under which XNNPACK's output covers tfjs' `info`: tfjs' top and left
 * pads, and bottom/right pads reaching tfjs' last output row/column (at least 0, so XNNPACK
 * may give more, which the caller cuts off).
 */
export function coveringPads(info: tf.backend_util.Conv2DInfo): tf.backend_util.ExplicitPadding {
  const p = info.padInfo;
  const reach = (out: number, stride: number, kernel: number, inSize: number, before: number) =>
    Math.max(0, (out - 1) * stride + kernel - inSize - before);
  return [
    [0, 0],
    [
      p.top,
      reach(info.outHeight, info.strideHeight, info.effectiveFilterHeight, info.inHeight, p.top),
    ],
    [
      p.left,
      reach(info.outWidth, info.strideWidth, info.effectiveFilterWidth, info.inWidth, p.left),
    ],
    [0, 0],
  ];
}

/** The first out[1] x out[2] pixels of `y` (wasm's Slice), `y` released. */
function keepFirst(
  backend: tf.KernelBackend,
  y: tf.TensorInfo,
  out: readonly number[],
): tf.TensorInfo {
  if (y.shape.every((d, i) => d === out[i])) return y;
  const slice = tf.getKernel(tf.Slice, "wasm")!;
  const kept = slice.kernelFunc({
    inputs: { x: y },
    attrs: { begin: [0, 0, 0, 0], size: [...out] },
    backend,
  }) as tf.TensorInfo;
  backend.disposeData(y.dataId);
  return kept;
}

/** Whether some window of the output lies wholly in the padding (rows or columns). */
export function emptyWindows(info: tf.backend_util.Conv2DInfo): boolean {
  const p = info.padInfo;
  const empty = (out: number, stride: number, kernel: number, inSize: number, before: number) =>
    before >= kernel || (out - 1) * stride - before >= inSize;
  return (
    empty(info.outHeight, info.strideHeight, info.effectiveFilterHeight, info.inHeight, p.top) ||
    empty(info.outWidth, info.strideWidth, info.effectiveFilterWidth, info.inWidth, p.left)
  );
}

/**
 * A pool with windows wholly in the padding, as cpu computes it: the max of a copy padded with
 * -Infinity ('valid' windows, so XNNPACK sees no padding), or the sum of a zero-padded copy over
 * the count of input pixels in each window (both as 'valid' means, whose divisor cancels); 0/0
 * is cpu's NaN.
 */
function poolOverPadding(
  backend: tf.KernelBackend,
  x: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  max: boolean,
): tf.TensorInfo {
  const [, [t, b], [l, r]] = coveringPads(info);
  const pads: [number, number][] = [
    [0, 0],
    [t!, b!],
    [l!, r!],
    [0, 0],
  ];
  const window: [number, number] = [info.filterHeight, info.filterWidth];
  const strides: [number, number] = [info.strideHeight, info.strideWidth];
  const [, oh, ow] = info.outShape;
  const y = withTensors(backend, [x], ([xt]) =>
    tf.tidy(() => {
      const x4 = xt as tf.Tensor4D;
      const pooled = max
        ? tf.maxPool(tf.pad(x4, pads, -Infinity), window, strides, "valid")
        : tf.div(
            tf.avgPool(tf.pad(x4, pads), window, strides, "valid"),
            tf.avgPool(
              tf.pad(tf.ones([1, info.inHeight, info.inWidth, 1]), pads) as tf.Tensor4D,
              window,
              strides,
              "valid",
            ),
          );
      return tf.slice(pooled, [0, 0, 0, 0], [info.batchSize, oh!, ow!, info.outChannels]);
    }),
  );
  return handOff(y, backend);
}

/** A convolution's or pool's attributes (pools add their window). */
type FamilyAttrs = ConvAttrs & { filterSize?: number | [number, number] };

/** tfjs' geometry of a kernel call of the family, or undefined for a layout wasm rejects anyway. */
function infoOf(
  kind: "conv" | "depthwise" | "pool",
  inputs: tf.NamedTensorInfoMap,
  a: FamilyAttrs,
): tf.backend_util.Conv2DInfo | undefined {
  if (a.dataFormat === "NCHW") return undefined;
  const x = inputs["x"]!.shape as Shape4;
  if (kind === "pool")
    return tf.backend_util.computePool2DInfo(
      x,
      a.filterSize!,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
  return convInfo(x, inputs["filter"]!.shape, a, kind === "depthwise");
}

/**
 * `theirs` (a wasm convolution or pool kernel) with the cases where XNNPACK's output shape
 * disagrees with tfjs' run on covering explicit pads and cut to tfjs' shape. `sameFlag`: the
 * kernel hands 'same' to XNNPACK as TF's flag (Conv2D, the depthwise and fused kernels), not
 * as pads (the pools).
 */
export function runWithAgreeingPads(
  theirs: tf.KernelConfig,
  kind: "conv" | "depthwise" | "pool",
  sameFlag: boolean,
  args: Parameters<tf.KernelFunc>[0],
): tf.TensorInfo | tf.TensorInfo[] {
  const attrs = args.attrs as unknown as FamilyAttrs;
  const info = args.inputs["x"] ? infoOf(kind, args.inputs, attrs) : undefined;
  if (!info) return theirs.kernelFunc(args);
  if (kind === "pool" && emptyWindows(info))
    return poolOverPadding(
      args.backend as tf.KernelBackend,
      args.inputs["x"]!,
      info,
      theirs.kernelName === tf.MaxPool,
    );
  if (!xnnpackDisagrees(info, sameFlag)) return theirs.kernelFunc(args);
  const { dimRoundingMode: _, ...rest } = attrs;
  const y = theirs.kernelFunc({
    ...args,
    attrs: { ...rest, pad: coveringPads(info) } as unknown as tf.NamedAttrMap,
  }) as tf.TensorInfo;
  return keepFirst(args.backend as tf.KernelBackend, y, info.outShape);
}

/** A replacement of wasm's `theirs` that routes the disagreeing cases (`runWithAgreeingPads`). */
export const agreeingPads =
  (kind: "conv" | "depthwise" | "pool", sameFlag: boolean) =>
  (theirs: tf.KernelConfig): tf.KernelConfig =>
    replacing(theirs, (args) => runWithAgreeingPads(theirs, kind, sameFlag, args));
