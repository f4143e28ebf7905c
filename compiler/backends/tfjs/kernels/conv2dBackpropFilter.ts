import * as tf from "@tensorflow/tfjs";
import {
  type ConvGeometry,
  convInfo,
  filterGradPads,
  firstTaps,
  geometryOf,
  handOff,
  withTensors,
} from "./common.js";
import { groupedConv2dBackpropFilterConfig } from "./groupedConv.js";
import { groupedFor } from "./groupedSimd.js";
import { pointwiseFor, pointwiseGradient } from "./pointwiseSimd.js";

// Why: tfjs-backend-wasm ships Conv2D and Conv2DBackpropInput but not the filter
// gradient, so conv2d training dies on wasm. dW[kh,kw,ci,co] correlates input
// channel ci with dy channel co over batch and space, which is itself a conv2d
// that wasm runs natively (one XNNPACK GEMM): input channels become the batch,
// the batch becomes the channels, dy becomes the filter, and the forward stride
// becomes the dilation. That beats an explicit im2col + matMul several-fold,
// since wasm's slices and transposed matMuls are slow, except where the result is
// small: a stem conv (few input channels) or a strided 1x1 shortcut, whose filter
// gradients take explicit patches and one GEMM instead (patchGradient). Faster still, where
// the maps are not tiny, are the grouped kernel's own filter-gradient tiles at groups = 1
// (groupedConv.ts): they read x and dy in place, so the two transposes and the packing of
// dy as an XNNPACK "filter" (about half of the correlation's time) are gone.

export function conv2dBackpropFilterWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: {};
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as tf.KernelBackend;
  const { x, dy } = args.inputs as unknown as tf.Conv2DBackpropFilterInputs;
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (x === undefined || dy === undefined) throw new Error("Conv2DBackpropFilter: missing x or dy");
  const channelsFirst = attrs.dataFormat === "NCHW";
  const info = convInfo(x.shape, attrs.filterShape, attrs);
  const pointwise = !channelsFirst && isPlainPointwise(info);
  const simd = x.dtype === "float32" && dy.dtype === "float32" ? pointwiseFor(backend) : undefined;
  if (simd && pointwise && useSimdPointwise(x, attrs.filterShape)) {
    return pointwiseGradient(backend, simd, x, dy, attrs.filterShape);
  }
  if (
    !channelsFirst &&
    x.dtype === "float32" &&
    dy.dtype === "float32" &&
    useNativeTiles(info) &&
    groupedFor(backend) !== undefined
  ) {
    // The grouped kernel's filter gradient at groups = 1: register tiles summed over blocks
    // of pixels, in place, on archc's kernel pool, with no transpose and no packing.
    const nativeAttrs = {
      strides: attrs.strides,
      pad: attrs.pad,
      dilations: 1,
      groups: 1,
      filterShape: attrs.filterShape,
      ...(attrs.dimRoundingMode !== undefined && { dimRoundingMode: attrs.dimRoundingMode }),
    };
    return groupedConv2dBackpropFilterConfig.kernelFunc({
      inputs: { x, dy },
      backend,
      attrs: nativeAttrs as unknown as tf.NamedAttrMap,
    }) as tf.TensorInfo;
  }

  const result = withTensors(backend, [x, dy], ([xIn, dyIn]) =>
    tf.tidy(() => xnnpackFilterGradient(xIn as tf.Tensor4D, dyIn as tf.Tensor4D, info)),
  );
  return handOff(result, backend);
}

/**
 * The fewest output pixels per sample at which the native tiles take a filter gradient.
 * `npx tsx bench/regularConvGrad.ts` (XNNPACK's composition against the native tiles, interleaved;
 * process CPU time at one thread, median ms, the shared machine at load 15-18):
 *   mini_xception 3x3, batch 32   32->32 28x28: 74-107 -> 37-44;  64->64 28x28: 177-244 -> 86-112
 *                                 64->64 14x14: 23-25 -> 14;  128->128 14x14: 111-115 -> 80-81
 *                                 128->128 7x7: 23-29 -> 24-37;  256->256 7x7: 109-116 -> 134-152
 *   3x3 4->32 28x28: 51 -> 15 (patches -> native);  stem 1->32 28x28: 17 -> 12 (patches -> native)
 *   3x3/2 64->64 28x28 (14x14 out): 47-66 -> 39-49;  3x3 64->64 10x10: 14 -> 8
 *   5x5 64->64 28x28: 292 -> 196;  5x5 32->32 14x14: 17 -> 27 (one run)
 *   Xception 3x3 32->64 149x149 valid, batch 8: 1034 -> 208;  728->728 19x19: 1399 -> 1141
 * and at two threads (wall-clock) the same order: 28x28 2.1-2.5x faster, 14x14 1.3x and 1.0x,
 * 7x7 0.66-0.74x. Below about 100 pixels a block of the native pass is one small sample, whose
 * tiles' fixed costs the XNNPACK correlation does not pay.
 */
export const NATIVE_FILTER_GRAD_PIXELS_MIN = 100;

/** Whether the native tiles (groupedConv.ts at groups = 1) take this filter gradient. */
export function useNativeTiles(info: tf.backend_util.Conv2DInfo): boolean {
  return (
    info.filterHeight * info.filterWidth > 1 &&
    info.outHeight * info.outWidth >= NATIVE_FILTER_GRAD_PIXELS_MIN
  );
}

/**
 * dW composed from XNNPACK's operators: a GEMM for a plain pointwise conv, explicit patches and
 * a GEMM for a small one (usePatches), else the correlation. NHWC or NCHW, as `info` says.
 */
export function xnnpackFilterGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
): tf.Tensor4D {
  const g = geometryOf(info);
  const channelsFirst = info.dataFormat === "channelsFirst";
  const filterShape: [number, number, number, number] = [
    info.filterHeight,
    info.filterWidth,
    info.inChannels,
    info.outChannels,
  ];
  if (g.batch * g.outHeight * g.outWidth === 0) return tf.zeros(filterShape);
  const [, , ci, co] = filterShape;
  if (!channelsFirst && isPlainPointwise(info)) {
    // A pointwise conv (most of a separable network's): dW = x^T dy over all pixels.
    // An explicit transpose and a plain matMul run as XNNPACK GEMMs, about twice as
    // fast as the correlation below; wasm's matMul with transposeA is ~10x slower.
    // The matMul's right operand is packed afresh on every call (a new tensor each step),
    // and packing costs more than the GEMM where the pixels are many: pack the narrower
    // of x and dy. Measured, 2 threads, m pixels: m 172872, 64 -> 128: 606 -> 271 ms;
    // m 25088, 32 -> 64: 27.6 -> 14.4 ms; with few pixels (m 800, 1024 -> 1536) the
    // GEMM's shape decides instead and packing dy stays faster (80 vs 90 ms).
    // (Most pointwise gradients take the SIMD routine instead: useSimdPointwise.)
    const pixels = x.size / ci;
    const x2 = tf.reshape(x, [-1, ci]);
    const dy2 = tf.reshape(dy, [-1, co]);
    const dw =
      ci < co && pixels > 4 * co
        ? tf.transpose(tf.matMul(tf.transpose(dy2), x2))
        : tf.matMul(tf.transpose(x2), dy2);
    return tf.reshape(dw, filterShape);
  }
  if (!channelsFirst && usePatches(g)) return patchGradient(x, dy, g, co);
  return correlationGradient(x, dy, g, channelsFirst);
}

/**
 * The largest ci x kh x kw that takes the patch path. `npx tsx bench/convFilterGrad.ts`,
 * wasm, median ms per call, correlation -> patches: four runs on 2 threads (the shared
 * 2-core machine, load 3.5-6.5; the quietest run last) and one with --threads 1:
 *   Xception stem [8,299,299,3] 3x3/2 valid -> 32 (27):  72-90 -> 51-57, 55 -> 22;  1t 107 -> 57
 *   mini stem [32,28,28,1] 3x3 same -> 32 (9):          13-15 -> 6-7, 6.6 -> 1.9;  1t 13 -> 3
 *   3x3 4->32, 28x28, batch 32 (36):                    15-16 -> 13-20, 9.5 -> 6.7; 1t 16 -> 11
 *   3x3 5->32 (45):                                     17-18 -> 15-18, 10 -> 11;   1t 19 -> 14
 *   3x3 6->32 (54):                                     14-19 -> 18-21, 11 -> 13;   1t 18 -> 17
 *   3x3 8->32 (72):                                     16-21 -> 27-28, 13 -> 16;   1t 13 -> 19
 *   3x3 32->64 (288):                                   98-126 -> 120-166, 42 -> 71
 * Patches win in three of four two-thread runs at 36, split at 45 and lose from 54, so the
 * cut is at 36 (a 3x3 conv of up to 4 channels). A 1x1 filter (strided or padded; the plain
 * pointwise one has its own path) always takes the patches: they are a strided copy of x,
 * never larger, and beat the correlation up to 5x from 16 to 728 input channels
 * (Xception's 1x1/2 64->128 at 147x147: 214-347 -> 68-155 ms; 128->256 at 74x74:
 * 224-372 -> 57-116 ms; 728->1024 at 19x19: 104-259 -> 53-185 ms).
 */
export const PATCH_TAPS_MAX = 36;

/** Whether the patch path below is the faster composition for this convolution. */
export function usePatches(g: ConvGeometry): boolean {
  const taps = g.filterHeight * g.filterWidth;
  return taps === 1 || g.inChannels * taps <= PATCH_TAPS_MAX;
}

/**
 * dW as a correlation: x as [Ci, H, W, B], dy as the filter [OH, OW, B, Co], the
 * forward stride as the dilation, giving [Ci, KH, KW, Co]. One XNNPACK conv, but
 * its reduction runs over OH x OW taps of B channels each, so it is slow where
 * the result is small (a stem conv: 3x3x3 taps from a 149x149 dy).
 */
export function correlationGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  g: ConvGeometry,
  channelsFirst: boolean,
): tf.Tensor4D {
  const xt = tf.transpose(x, channelsFirst ? [1, 2, 3, 0] : [3, 1, 2, 0]);
  const dyt = tf.transpose(dy, channelsFirst ? [2, 3, 0, 1] : [1, 2, 0, 3]);
  const [padH, padW] = filterGradPads(g);
  const taps = tf.conv2d(xt, dyt, 1, [[0, 0], padH, padW, [0, 0]], "NHWC", [
    g.strideHeight,
    g.strideWidth,
  ]); // [Ci, KH, KW, Co]
  return tf.transpose(firstTaps(taps, g), [1, 2, 0, 3]);
}

/**
 * dW from explicit patches (NHWC): one native depthwise conv with a one-hot
 * [KH, KW, Ci, KH*KW] filter copies every tap into its own channel (channel
 * c*KH*KW + i*KW + j holds x at tap (i, j) of input channel c), then
 * dW = patches^T dy is one GEMM, as in the pointwise path. The depthwise conv
 * gets explicit pads that reach exactly the last output (filterGradPads), so
 * 'same', 'valid', explicit pads and every dimRoundingMode give OH x OW patches.
 * A numeric pad can give more: tfjs sizes both output axes from the filter
 * height there (computeOutputShape2D takes one field size), so a non-square
 * filter's forward conv has fewer columns than its pads reach; they are cut off.
 */
export function patchGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  g: ConvGeometry,
  co: number,
): tf.Tensor4D {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci } = g;
  const taps = kh * kw;
  // [kh, kw, ci, taps]: tap t of channel c goes to output channel c * taps + t.
  const oneHot = new Float32Array(taps * ci * taps);
  for (let t = 0; t < taps; t++) {
    for (let c = 0; c < ci; c++) oneHot[(t * ci + c) * taps + t] = 1;
  }
  const [padH, padW] = filterGradPads(g);
  const attrs = {
    strides: [g.strideHeight, g.strideWidth],
    pad: [[0, 0], padH, padW, [0, 0]],
    dataFormat: "NHWC",
    dilations: [g.dilationHeight, g.dilationWidth],
  };
  const filter = tf.tensor4d(oneHot, [kh, kw, ci, taps]);
  let patches = tf
    .engine()
    .runKernel(
      tf.DepthwiseConv2dNative,
      { x, filter },
      attrs as unknown as tf.NamedAttrMap,
    ) as tf.Tensor4D;
  const [b, h, w] = patches.shape;
  if (h !== g.outHeight || w !== g.outWidth) {
    patches = tf.slice(patches, [0, 0, 0, 0], [b, g.outHeight, g.outWidth, ci * taps]);
  }
  // An explicit transpose and a plain matMul: wasm's matMul with transposeA is ~10x slower.
  const pt = tf.transpose(tf.reshape(patches, [-1, ci * taps]));
  const dw = tf.matMul(pt, tf.reshape(dy, [-1, co])); // [ci*taps, co], rows c-major
  return tf.transpose(tf.reshape(dw, [ci, kh, kw, co]), [1, 2, 0, 3]);
}

/** Whether this is a plain pointwise conv: 1x1, stride 1, no padding (layout aside). */
function isPlainPointwise(info: tf.backend_util.Conv2DInfo): boolean {
  const p = info.padInfo;
  return (
    info.filterHeight === 1 &&
    info.filterWidth === 1 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    p.top + p.bottom + p.left + p.right === 0
  );
}

/**
 * Whether the SIMD routine (pointwiseSimd.ts) beats the better matMul orientation: with at
 * least one 4 x 8 tile and at most SIMD_POINTWISE_WEIGHTS_MAX weights. It runs on one thread
 * and packs nothing; XNNPACK's GEMM runs on every thread but first packs its right operand
 * (and wasm transposes the left), a cost that grows with m x min(ci, co) against the GEMM's
 * m x ci x co, so the GEMM catches up where the channels are many. `npx tsx
 * bench/pointwiseFilterGrad.ts --xception`, 2 threads, fresh tensors, median ms, best matMul
 * orientation -> SIMD (256 pixels x 64 channels), two runs on the loaded shared machine:
 *   mini_xception  25088, 32 -> 64: 17.6-29.3 -> 6.1-10.2;  25088, 64 -> 64: 43-66 -> 12-14
 *                  6272, 64 -> 128: 10.6-15.3 -> 8.6;  6272, 128 -> 128: 19-24 -> 10-13
 *                  1568, 128 -> 128: 7.8-9.4 -> 3.3-3.5;  1568, 128 -> 256: 7.2-10.7 -> 4.6-8.2
 *   Xception       172872, 64 -> 128: 413 -> 170;  172872, 128 -> 128: 1296 -> 456
 *                  43808, 128 -> 256: 325 -> 167;  43808, 256 -> 256: 581-597 -> 333-340
 *                  10952, 256 -> 728: 327 -> 231-241;  2888, 728 -> 728: 194-207 -> 163-199
 *                  2888, 728 -> 1024: 281 -> 283;  800, 1024 -> 1536: 128 -> 156
 *                  800, 1536 -> 2048: 316 -> 377
 * so the cut is at 728 x 728 weights (won in both runs; 728 x 1024 ties, larger loses).
 * At one thread (--threads 1) the GEMM still wins the largest: 2888, 728 -> 1024: 261 -> 211;
 * 800, 1024 -> 1536: 143 -> 188; 800, 1536 -> 2048: 263 -> 364 (smaller pixel blocks or
 * channel chunks, 64-128 x 32-128, do not change that: the routine is bound by its f32x4
 * multiplies and adds there), so the one cut serves both.
 */
export const SIMD_POINTWISE_WEIGHTS_MAX = 728 * 728;

/** Whether this pointwise filter gradient takes the SIMD routine (see above). */
export function useSimdPointwise(
  x: tf.TensorInfo,
  filterShape: [number, number, number, number],
): boolean {
  const [, , ci, co] = filterShape;
  const pixels = x.shape.reduce((a, b) => a * b, 1) / ci;
  return pixels > 0 && ci >= 4 && co >= 8 && ci * co <= SIMD_POINTWISE_WEIGHTS_MAX;
}

export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: "wasm",
  kernelFunc: conv2dBackpropFilterWasm,
};
