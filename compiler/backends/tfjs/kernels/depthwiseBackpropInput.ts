import * as tf from "@tensorflow/tfjs";
import { handOff, withTensors } from "./common.js";

// Why: tfjs-backend-wasm has a fast native depthwise convolution but no gradient
// for it, so separable-conv training dies on wasm. The input gradient of a
// depthwise conv is itself a depthwise conv ("transposed conv"): spread dy out by
// the stride, pad it by the filter reach minus the forward pad, and correlate it
// with the spatially flipped filter. With a channel multiplier M, each of the
// Ci*M dy channels is convolved with its own filter slice and the M results
// belonging to one input channel are summed.

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

  const result = withTensors(backend, [dy, filter], ([dyIn, filterIn]) =>
    tf.tidy(() => {
      const dy4 = dyIn as tf.Tensor4D;
      const w = filterIn as tf.Tensor4D;
      const [filterHeight, filterWidth, inChannels, multiplier] = w.shape;
      const info = tf.backend_util.computeConv2DInfo(
        attrs.inputShape,
        w.shape,
        attrs.strides,
        attrs.dilations ?? 1,
        attrs.pad,
        attrs.dimRoundingMode,
        true,
      );
      const { batchSize, inHeight, inWidth, outHeight, outWidth } = info;
      const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
      if (batchSize * outHeight * outWidth === 0) return tf.zeros(attrs.inputShape);
      const channels = inChannels * multiplier;

      // dy spread out by the stride: dy[oh] lands on row oh*sh, zeros between.
      let spread: tf.Tensor4D = dy4;
      if (sh > 1 || sw > 1) {
        const holes = tf.pad(tf.reshape(dy4, [batchSize, outHeight, 1, outWidth, 1, channels]), [
          [0, 0],
          [0, 0],
          [0, sh - 1],
          [0, 0],
          [0, sw - 1],
          [0, 0],
        ]);
        spread = tf.reshape(holes, [batchSize, outHeight * sh, outWidth * sw, channels]);
      }

      // dx[h] = sum_k spread[h + top - k*d] * w[k]; with k' = K-1-k this is a plain
      // correlation of the flipped filter with spread shifted by (K-1)*d - top.
      // A negative shift (explicit pads beyond the filter reach) is a crop instead.
      const fit = (len: number, shift: number, want: number): [number, number, number, number] => {
        const cropStart = Math.max(0, -shift);
        const padStart = Math.max(0, shift);
        const end = want - padStart + cropStart; // rows of spread that are used
        const cropEnd = Math.max(0, len - end);
        const padEnd = Math.max(0, end - len);
        return [cropStart, padStart, len - cropStart - cropEnd, padEnd];
      };
      const [cropTop, padTop, keepH, padBottom] = fit(
        spread.shape[1],
        (filterHeight - 1) * dh - info.padInfo.top,
        inHeight + (filterHeight - 1) * dh,
      );
      const [cropLeft, padLeft, keepW, padRight] = fit(
        spread.shape[2],
        (filterWidth - 1) * dw - info.padInfo.left,
        inWidth + (filterWidth - 1) * dw,
      );
      if (keepH <= 0 || keepW <= 0) return tf.zeros(attrs.inputShape);
      if (cropTop > 0 || cropLeft > 0 || keepH < spread.shape[1] || keepW < spread.shape[2]) {
        spread = tf.slice(spread, [0, cropTop, cropLeft, 0], [batchSize, keepH, keepW, channels]);
      }

      const flipped = tf.reshape(tf.reverse(w, [0, 1]), [filterHeight, filterWidth, channels, 1]);
      const dx = tf.depthwiseConv2d(
        spread,
        flipped as tf.Tensor4D,
        1,
        [
          [0, 0],
          [padTop, padBottom],
          [padLeft, padRight],
          [0, 0],
        ],
        "NHWC",
        [dh, dw],
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
