import * as tf from "@tensorflow/tfjs";
import { handOff, spreadForInputGradient, withTensors } from "./common.js";

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
