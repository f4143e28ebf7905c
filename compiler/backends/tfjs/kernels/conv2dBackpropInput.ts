import * as tf from "@tensorflow/tfjs";
import { convInfo, handOff, spreadForInputGradient, withTensors } from "./common.js";
import { winogradApplies, winogradConv2d, winogradDisabled, winogradWins } from "./winograd.js";

// Why: tfjs-backend-wasm's own Conv2DBackpropInput is a direct scalar loop, not
// XNNPACK: in a mini_xception training step it took as long as every forward and
// filter-gradient convolution together (27% of the step). The input gradient of a
// convolution is itself a convolution: spread dy by the stride, pad it by the filter
// reach minus the forward pad, and correlate it with the spatially flipped filter
// whose in and out channels are swapped. That runs as wasm's native (XNNPACK) Conv2D;
// for the common 1x1 stride-1 case it is one GEMM. At stride 1 with a 3x3 filter where
// Winograd wins (winograd.ts' winogradWins), that conv runs as F(2x2, 3x3) instead.

export function conv2dBackpropInputWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: {};
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as tf.KernelBackend;
  const { dy, filter } = args.inputs as unknown as tf.Conv2DBackpropInputInputs;
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  if (dy === undefined || filter === undefined) {
    throw new Error("Conv2DBackpropInput: missing dy or filter");
  }
  const channelsFirst = attrs.dataFormat === "NCHW";

  const info = convInfo(attrs.inputShape, filter.shape, attrs);
  if (
    !channelsFirst &&
    !winogradDisabled() &&
    dy.dtype === "float32" &&
    filter.dtype === "float32" &&
    winogradApplies(filter.shape, attrs.strides, 1) &&
    winogradWins(filter.shape[2]!, filter.shape[3]!)
  ) {
    // The flipped, channel-swapped filter over dy padded by (2 - pad): dx has the input's size.
    const dx = withTensors(backend, [filter], ([w]) => {
      const flipped = flippedSwapped(w as tf.Tensor4D);
      try {
        return winogradConv2d(backend, dy, flipped, {
          padTop: 2 - info.padInfo.top,
          padLeft: 2 - info.padInfo.left,
          outHeight: info.inHeight,
          outWidth: info.inWidth,
        });
      } finally {
        flipped.dispose();
      }
    });
    if (dx) return dx;
  }
  const result = withTensors(backend, [dy, filter], ([dyIn, filterIn]) =>
    tf.tidy(() => {
      const dy4 = channelsFirst
        ? tf.transpose(dyIn as tf.Tensor4D, [0, 2, 3, 1])
        : (dyIn as tf.Tensor4D);
      const dx = xnnpackInputGradient(dy4, filterIn as tf.Tensor4D, info);
      return channelsFirst ? tf.transpose(dx, [0, 3, 1, 2]) : dx;
    }),
  );
  return handOff(result, backend);
}

/**
 * dx (NHWC) as XNNPACK's conv2d of the stride-spread dy (NHWC) with the flipped, channel-swapped
 * filter; `info` describes the forward convolution.
 */
export function xnnpackInputGradient(
  dy: tf.Tensor4D,
  w: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
): tf.Tensor4D {
  const nhwc: [number, number, number, number] = [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
  ];
  const laid = spreadForInputGradient(dy, info);
  return info.batchSize * info.outHeight * info.outWidth === 0 || laid === undefined
    ? tf.zeros(nhwc)
    : tf.conv2d(laid.spread, flippedSwapped(w), 1, [[0, 0], ...laid.pads, [0, 0]], "NHWC", [
        info.dilationHeight,
        info.dilationWidth,
      ]);
}

/**
 * The filter [KH, KW, Ci, Co] flipped in both spatial axes, channels swapped: [KH, KW, Co, Ci].
 * Why not tf.reverse: wasm's Reverse is a per-element index loop that took longer than the
 * convolution it feeds (1x1x728x728: 60-250 ms against 35 ms; docs/PERFORMANCE.md). Flipping
 * both axes only reverses the order of the KH*KW blocks of Ci*Co values, so after wasm's fast
 * transpose it is KH*KW block copies, and nothing at all for a 1x1 filter.
 */
export function flippedSwapped(w: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, ci, co] = w.shape;
  const swapped = tf.transpose(w, [0, 1, 3, 2]);
  const taps = kh * kw;
  if (taps === 1 || w.size === 0) return swapped;
  const src = swapped.dataSync() as Float32Array;
  swapped.dispose();
  const out = new Float32Array(src.length);
  const block = ci * co;
  for (let p = 0; p < taps; p++) {
    out.set(src.subarray(p * block, (p + 1) * block), (taps - 1 - p) * block);
  }
  return tf.tensor4d(out, [kh, kw, co, ci]);
}

export const conv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: "wasm",
  kernelFunc: conv2dBackpropInputWasm,
};
