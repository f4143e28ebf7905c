import * as tf from "@tensorflow/tfjs";
import { zeroOut } from "./bulk.js";
import {
  type ConvGeometry,
  convInfo,
  geometryOf,
  handOff,
  spreadForInputGradient,
  tapBoxes,
  withTensors,
} from "./common.js";
import { runRows2Calls } from "./pooledRows.js";
import { addressOf, rowsFor, wasmHeap } from "./simd.js";

// Why: tfjs-backend-wasm has a fast native depthwise convolution but no gradient
// for it, so separable-conv training dies on wasm. The input gradient of a
// depthwise conv is itself a depthwise conv ("transposed conv"): spread dy out by
// the stride, pad it by the filter reach minus the forward pad, and correlate it
// with the spatially flipped filter. With a channel multiplier M, each of the
// Ci*M dy channels is convolved with its own filter slice and the M results
// belonging to one input channel are summed.

// With one filter per channel (multiplier 1) and SIMD at hand, the spread, pads,
// flip and second convolution are skipped: each dy row is scattered straight into
// the input rows it came from, dx[b, ih, iw, :] += w[kh, kw, :] * dy[b, oh, ow, :]
// (simd.ts, in place on the backend's memory).

/**
 * dx by direct scattering; the caller checked multiplier 1 and float32 data. One rows2 call per
 * sample and tap scatters the tap's filter row times the dy rows whose input pixel for the tap
 * is inside. A dx float gets its terms in the order of (output row, filter column): the taps
 * go by filter row from the last (a later output row reaches an input row through an earlier
 * filter row), then by filter column, as a loop over output rows, filter rows and columns
 * adds them. On the kernel pool the samples (and, where they are few, the channels) are cut
 * into tasks (runRows2Calls), which write disjoint floats: bit-identical to one thread.
 */
function direct(
  backend: tf.KernelBackend,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  g: ConvGeometry,
  inputShape: [number, number, number, number],
): tf.TensorInfo {
  const wasm = wasmHeap(backend);
  const out = wasm.makeOutput(inputShape, "float32");
  zeroOut(backend, out);
  const c = g.inChannels;
  const dyAt = addressOf(backend, dy);
  const wAt = addressOf(backend, filter);
  const outAt = addressOf(backend, out);
  const px = 4 * c;
  const args: number[] = [];
  const samples = [0];
  const taps = tapBoxes(g, true);
  for (let b = 0; b < g.batch; b++) {
    for (const { kh, kw, oh0, oh1, ow0, ow1, ih, iw } of taps) {
      args.push(
        outAt + ((b * g.inHeight + ih) * g.inWidth + iw) * px,
        wAt + (kh * g.filterWidth + kw) * px,
        dyAt + ((b * g.outHeight + oh0) * g.outWidth + ow0) * px,
        c,
        ow1 - ow0,
        g.strideWidth * px,
        0,
        px,
        oh1 - oh0,
        g.strideHeight * g.inWidth * px,
        0,
        g.outWidth * px,
      );
    }
    samples.push(args.length / 12);
  }
  runRows2Calls(backend, args, samples, c, tf.DepthwiseConv2dNativeBackpropInput);
  return out;
}

export function depthwiseBackpropInputWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: {};
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as tf.KernelBackend;
  const { dy, filter } = args.inputs as unknown as tf.DepthwiseConv2dNativeBackpropInputInputs;
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  if (dy === undefined || filter === undefined) {
    throw new Error("DepthwiseConv2dNativeBackpropInput: missing dy or filter");
  }

  const multiplier = filter.shape[3];
  if (multiplier === 1 && dy.dtype === "float32" && rowsFor(backend)) {
    const info = convInfo(attrs.inputShape, filter.shape, attrs, true);
    return direct(backend, dy, filter, geometryOf(info), attrs.inputShape);
  }

  const result = withTensors(backend, [dy, filter], ([dyIn, filterIn]) =>
    tf.tidy(() => {
      const dy4 = dyIn as tf.Tensor4D;
      const w = filterIn as tf.Tensor4D;
      const [filterHeight, filterWidth, inChannels, multiplier] = w.shape;
      const info = convInfo(attrs.inputShape, w.shape, attrs, true);
      const { batchSize, inHeight, inWidth, outHeight, outWidth } = info;
      if (batchSize * outHeight * outWidth === 0) return tf.zeros(attrs.inputShape);
      const channels = inChannels * multiplier;
      const laid = spreadForInputGradient(dy4, info);
      if (laid === undefined) return tf.zeros(attrs.inputShape);

      const flipped = tf.reshape(tf.reverse(w, [0, 1]), [filterHeight, filterWidth, channels, 1]);
      const dx = tf.depthwiseConv2d(
        laid.spread,
        flipped as tf.Tensor4D,
        1,
        [[0, 0], ...laid.pads, [0, 0]],
        "NHWC",
        [info.dilationHeight, info.dilationWidth],
      );
      if (multiplier === 1) return dx;
      return tf.sum(tf.reshape(dx, [batchSize, inHeight, inWidth, inChannels, multiplier]), 4);
    }),
  );
  return handOff(result, backend);
}

export const depthwiseBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: "wasm",
  kernelFunc: depthwiseBackpropInputWasm,
};
