import * as tf from "@tensorflow/tfjs";
import { filterGradPads, firstTaps, geometryOf, handOff, withTensors } from "./common.js";

// Why: tfjs-backend-wasm has a native depthwise convolution but no gradient for
// it, so separable-conv training dies on wasm. dW[kh,kw,c,m] correlates channel c
// of the input with channel c*M+m of dy over batch and space. Folding the batch
// into the channels turns that into one native depthwise conv: the input becomes
// [1, H, W, B*C], dy becomes a [OH, OW, B*C, M] filter, the forward stride becomes
// the dilation and the forward dilation the stride; the B partial filters are then
// summed. This avoids per-tap slices, which are slow on wasm.

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

  const result = withTensors(backend, [x, dy], ([xIn, dyIn]) =>
    tf.tidy(() => {
      const x4 = xIn as tf.Tensor4D;
      const info = tf.backend_util.computeConv2DInfo(
        x4.shape,
        attrs.filterShape,
        attrs.strides,
        attrs.dilations ?? 1,
        attrs.pad,
        attrs.dimRoundingMode,
        true,
      );
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
