import * as tf from "@tensorflow/tfjs";
import { filterGradPads, firstTaps, geometryOf, handOff, withTensors } from "./common.js";

// Why: tfjs-backend-wasm ships Conv2D and Conv2DBackpropInput but not the filter
// gradient, so conv2d training dies on wasm. dW[kh,kw,ci,co] correlates input
// channel ci with dy channel co over batch and space, which is itself a conv2d
// that wasm runs natively (one XNNPACK GEMM): input channels become the batch,
// the batch becomes the channels, dy becomes the filter, and the forward stride
// becomes the dilation. That beats an explicit im2col + matMul several-fold,
// since wasm's slices and transposed matMuls are slow.

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

  const result = withTensors(backend, [x, dy], ([xIn, dyIn]) =>
    tf.tidy(() => {
      const x4 = xIn as tf.Tensor4D;
      const info = tf.backend_util.computeConv2DInfo(
        x4.shape,
        attrs.filterShape,
        attrs.strides,
        1,
        attrs.pad,
        attrs.dimRoundingMode,
        false,
        channelsFirst ? "channelsFirst" : "channelsLast",
      );
      const g = geometryOf(info);
      if (g.batch * g.outHeight * g.outWidth === 0) return tf.zeros(attrs.filterShape);
      const [kh, kw, ci, co] = attrs.filterShape;
      const pads = info.padInfo;
      if (
        kh === 1 &&
        kw === 1 &&
        !channelsFirst &&
        g.strideHeight === 1 &&
        g.strideWidth === 1 &&
        pads.top + pads.bottom + pads.left + pads.right === 0
      ) {
        // A pointwise conv (most of a separable network's): dW = x^T dy over all pixels.
        // An explicit transpose and a plain matMul run as XNNPACK GEMMs, about twice as
        // fast as the correlation below; wasm's matMul with transposeA is ~10x slower.
        const x2 = tf.transpose(tf.reshape(x4, [-1, ci]));
        return tf.reshape(
          tf.matMul(x2, tf.reshape(dyIn as tf.Tensor, [-1, co])),
          attrs.filterShape,
        );
      }

      // x as [Ci, H, W, B] and dy as the filter [OH, OW, B, Co].
      const xt = tf.transpose(x4, channelsFirst ? [1, 2, 3, 0] : [3, 1, 2, 0]);
      const dyt = tf.transpose(dyIn as tf.Tensor4D, channelsFirst ? [2, 3, 0, 1] : [1, 2, 0, 3]);
      const [padH, padW] = filterGradPads(g);
      const taps = tf.conv2d(xt, dyt, 1, [[0, 0], padH, padW, [0, 0]], "NHWC", [
        g.strideHeight,
        g.strideWidth,
      ]); // [Ci, KH, KW, Co]
      return tf.transpose(firstTaps(taps, g), [1, 2, 0, 3]);
    }),
  );
  return handOff(result, backend);
}

export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: "wasm",
  kernelFunc: conv2dBackpropFilterWasm,
};
