import * as tf from "@tensorflow/tfjs";
import { zeroOut } from "./bulk.js";
import {
  filterGradPads,
  firstTaps,
  geometryOf,
  handOff,
  withTensors,
  type ConvGeometry,
} from "./common.js";
import { addressOf, rowsFor, type RowsFn, wasmHeap } from "./simd.js";

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

/** dW by direct accumulation; the caller checked multiplier 1 and float32 NHWC data. */
function direct(
  backend: tf.KernelBackend,
  rows: RowsFn,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  g: ConvGeometry,
  filterShape: [number, number, number, number],
): tf.TensorInfo {
  const wasm = wasmHeap(backend);
  const out = wasm.makeOutput(filterShape, "float32");
  zeroOut(backend, out);
  const c = g.inChannels;
  const xAt = addressOf(backend, x);
  const dyAt = addressOf(backend, dy);
  const outAt = addressOf(backend, out);
  const rowBytes = 4 * c;
  for (let b = 0; b < g.batch; b++)
    for (let oh = 0; oh < g.outHeight; oh++)
      for (let kh = 0; kh < g.filterHeight; kh++) {
        const ih = oh * g.strideHeight - g.padTop + kh * g.dilationHeight;
        if (ih < 0 || ih >= g.inHeight) continue;
        for (let kw = 0; kw < g.filterWidth; kw++) {
          // Columns whose input column iw = ow * stride - padLeft + kw * dilation is inside.
          const shift = kw * g.dilationWidth - g.padLeft;
          const lo = Math.max(0, Math.ceil(-shift / g.strideWidth));
          const hi = Math.min(g.outWidth, Math.floor((g.inWidth - 1 - shift) / g.strideWidth) + 1);
          if (hi <= lo) continue;
          const iw = lo * g.strideWidth + shift;
          rows(
            outAt + (kh * g.filterWidth + kw) * rowBytes,
            xAt + ((b * g.inHeight + ih) * g.inWidth + iw) * rowBytes,
            dyAt + ((b * g.outHeight + oh) * g.outWidth + lo) * rowBytes,
            c,
            hi - lo,
            0,
            g.strideWidth * rowBytes,
            rowBytes,
          );
        }
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
  const rows = multiplier === 1 && x.dtype === "float32" ? rowsFor(backend) : undefined;
  if (rows) {
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      attrs.filterShape,
      attrs.strides,
      attrs.dilations ?? 1,
      attrs.pad,
      attrs.dimRoundingMode,
      true,
    );
    return direct(backend, rows, x, dy, geometryOf(info), attrs.filterShape);
  }

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
