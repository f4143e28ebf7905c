import * as tf from "@tensorflow/tfjs";
import { zeroOut } from "./bulk.js";
import {
  type ConvGeometry,
  convInfo,
  filterGradPads,
  firstTaps,
  geometryOf,
  handOff,
  tapBoxes,
  withTensors,
} from "./common.js";
import { poolThreads, runJob, TASKS_PER_THREAD, type Call } from "./pool.js";
import { MIN_POOLED_WORK } from "./pooledRows.js";
import { addressOf, rowsFor, rowsModule, simdFor, wasmHeap } from "./simd.js";

// Why: tfjs-backend-wasm has a native depthwise convolution but no gradient for
// it, so separable-conv training dies on wasm. dW[kh,kw,c,m] correlates channel c
// of the input with channel c*M+m of dy over batch and space. Folding the batch
// into the channels turns that into one native depthwise conv: the input becomes
// [1, H, W, B*C], dy becomes a [OH, OW, B*C, M] filter, the forward stride becomes
// the dilation and the forward dilation the stride; the B partial filters are then
// summed. This avoids per-tap slices, which are slow on wasm.
//
// That composition hands XNNPACK a "filter" as large as the image, which it runs far
// slower than a real depthwise conv (about 10x the forward pass at Xception sizes).
// With one filter per channel (multiplier 1, every separable layer archc builds) the
// gradient is instead accumulated directly, in place on the backend's memory, by a
// SIMD loop (simd.ts): for each sample, output row and tap, the tap's [C] row of dW
// gains sum over the row's valid columns of x[b, ih, iw, :] * dy[b, oh, ow, :].
// Other multipliers, or an engine without SIMD, keep the composition.

/**
 * dW by direct accumulation; the caller checked multiplier 1 and float32 NHWC data. One rows2
 * call per sample and tap walks the output rows and columns whose input pixel for the tap is
 * inside the input: each of the tap's dW floats gains its terms sample by sample, row by row,
 * column by column.
 *
 * On the kernel pool, each task sums a run of samples into a dW of its own, added up at the
 * end (float32 reassociation: the runs' sums are added in run order, the same bits for the same
 * thread count). The ways that keep one thread's order were slower than one thread (measured,
 * 32x28x28x128, CPU ms: 7.3 on one thread; cut by channels 22.5 on two, since every pixel adds
 * into the same dW row and threads then write neighbouring cache lines; cut by taps 15.5 on
 * one, since each tap then streams all of x and dy instead of one sample's).
 */
function direct(
  backend: tf.KernelBackend,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  g: ConvGeometry,
  filterShape: [number, number, number, number],
): tf.TensorInfo {
  const wasm = wasmHeap(backend);
  const out = wasm.makeOutput(filterShape, "float32");
  zeroOut(backend, out);
  const c = g.inChannels;
  const taps = g.filterHeight * g.filterWidth;
  const px = 4 * c;
  const threads =
    g.batch * g.outHeight * g.outWidth * taps * c < MIN_POOLED_WORK ? 1 : poolThreads(backend);
  const runs = threads > 1 ? Math.min(g.batch, TASKS_PER_THREAD * threads) : 1;
  // Each run's dW starts on a cache line of its own (a line is 16 floats), so no two threads
  // write one line.
  const stride = 16 * Math.ceil((taps * c) / 16);
  const copies = runs > 1 ? wasm.makeOutput([(runs - 1) * stride + 16], "float32") : undefined;
  try {
    let copiesAt = 0;
    if (copies) {
      zeroOut(backend, copies);
      const at = addressOf(backend, copies);
      copiesAt = at + ((64 - (at % 64)) % 64);
    }
    const xAt = addressOf(backend, x);
    const dyAt = addressOf(backend, dy);
    const boxes = tapBoxes(g);
    const calls: Call[] = [];
    const bounds = [0];
    for (let r = 0; r < runs; r++) {
      const dwAt = r === 0 ? addressOf(backend, out) : copiesAt + 4 * stride * (r - 1);
      for (
        let b = Math.floor((r * g.batch) / runs);
        b < Math.floor(((r + 1) * g.batch) / runs);
        b++
      )
        for (const { kh, kw, oh0, oh1, ow0, ow1, ih, iw } of boxes) {
          const args = [
            dwAt + (kh * g.filterWidth + kw) * px,
            xAt + ((b * g.inHeight + ih) * g.inWidth + iw) * px,
            dyAt + ((b * g.outHeight + oh0) * g.outWidth + ow0) * px,
            c,
            ow1 - ow0,
            0,
            g.strideWidth * px,
            px,
            oh1 - oh0,
            0,
            g.strideHeight * g.inWidth * px,
            g.outWidth * px,
          ];
          calls.push({ module: rowsModule, fn: "rows2", args });
        }
      bounds.push(calls.length);
    }
    runJob(backend, {
      calls,
      grid: runs > 1 ? [{ kind: "calls", bounds }] : [],
      kernel: tf.DepthwiseConv2dNativeBackpropFilter,
    });
    if (copies)
      simdFor(backend)!.sums(addressOf(backend, out), copiesAt, taps * c, runs - 1, 0, 4 * stride);
  } finally {
    if (copies) backend.disposeData(copies.dataId);
  }
  return out;
}

export function depthwiseBackpropFilterWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: {};
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as tf.KernelBackend;
  const { x, dy } = args.inputs as unknown as tf.DepthwiseConv2dNativeBackpropFilterInputs;
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  if (x === undefined || dy === undefined) {
    throw new Error("DepthwiseConv2dNativeBackpropFilter: missing x or dy");
  }
  const [filterHeight, filterWidth, inChannels, multiplier] = attrs.filterShape;
  if (multiplier === 1 && x.dtype === "float32" && rowsFor(backend)) {
    const info = convInfo(x.shape, attrs.filterShape, attrs, true);
    return direct(backend, x, dy, geometryOf(info), attrs.filterShape);
  }

  const result = withTensors(backend, [x, dy], ([xIn, dyIn]) =>
    tf.tidy(() => {
      const x4 = xIn as tf.Tensor4D;
      const info = convInfo(x4.shape, attrs.filterShape, attrs, true);
      const g = geometryOf(info);
      const { batch, inHeight, inWidth, outHeight, outWidth } = g;
      if (batch * outHeight * outWidth === 0) return tf.zeros(attrs.filterShape);

      const xt = tf.reshape(tf.transpose(x4, [1, 2, 0, 3]), [
        1,
        inHeight,
        inWidth,
        batch * inChannels,
      ]);
      const dyt = tf.reshape(tf.transpose(dyIn as tf.Tensor4D, [1, 2, 0, 3]), [
        outHeight,
        outWidth,
        batch * inChannels,
        multiplier,
      ]);
      const [padH, padW] = filterGradPads(g);
      // Called as a kernel rather than through tf.depthwiseConv2d, whose op-level
      // check rejects stride > 1 together with dilation > 1; the native kernel
      // supports the combination.
      const depthwiseAttrs: tf.DepthwiseConv2dNativeAttrs = {
        strides: [g.dilationHeight, g.dilationWidth],
        pad: [[0, 0], padH, padW, [0, 0]],
        dataFormat: "NHWC",
        dilations: [g.strideHeight, g.strideWidth],
      };
      const depthwiseInputs: tf.DepthwiseConv2dNativeInputs = { x: xt, filter: dyt };
      const taps = tf
        .engine()
        .runKernel(
          tf.DepthwiseConv2dNative,
          depthwiseInputs as unknown as tf.NamedTensorMap,
          depthwiseAttrs as unknown as tf.NamedAttrMap,
        ) as tf.Tensor4D; // [1, KH, KW, B*C*M]
      const perSample = tf.reshape(firstTaps(taps, g), [
        filterHeight * filterWidth,
        batch,
        inChannels * multiplier,
      ]);
      return tf.reshape(tf.sum(perSample, 1), attrs.filterShape);
    }),
  );
  return handOff(result, backend);
}

export const depthwiseBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: "wasm",
  kernelFunc: depthwiseBackpropFilterWasm,
};
