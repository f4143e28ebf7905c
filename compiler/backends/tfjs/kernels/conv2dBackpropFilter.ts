import * as tf from "@tensorflow/tfjs";
import { geometryOf, handOff, padForTaps, tapGroups, tapWindow, withTensors } from "./common.js";

// Why: tfjs-backend-wasm ships Conv2D and Conv2DBackpropInput but not the filter
// gradient, so conv2d training dies on wasm. The gradient is rebuilt from kernels
// wasm does have: each filter tap's strided input window is one column block of an
// im2col matrix, and a single GEMM against dy (batch and space flattened) yields
// the whole filter gradient. Taps are grouped only to cap the im2col memory.

/** Upper bound on the im2col block materialised at once, in floats (64 MiB). */
const IM2COL_CAP_FLOATS = 1 << 24;

export function conv2dBackpropFilterWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: {};
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as tf.KernelBackend;
  const { x, dy } = args.inputs as unknown as tf.Conv2DBackpropFilterInputs;
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (x === undefined || dy === undefined) throw new Error("Conv2DBackpropFilter: missing x or dy");
  const [filterHeight, filterWidth, inChannels, outChannels] = attrs.filterShape;

  const result = withTensors(backend, [x, dy], ([xIn, dyIn]) =>
    tf.tidy(() => {
      let x4 = xIn as tf.Tensor4D;
      let dy4 = dyIn as tf.Tensor4D;
      if (attrs.dataFormat === "NCHW") {
        x4 = tf.transpose(x4, [0, 2, 3, 1]);
        dy4 = tf.transpose(dy4, [0, 2, 3, 1]);
      }
      const info = tf.backend_util.computeConv2DInfo(
        x4.shape,
        attrs.filterShape,
        attrs.strides,
        1,
        attrs.pad,
        attrs.dimRoundingMode,
        false,
        "channelsLast",
      );
      const g = geometryOf(info);
      const n = g.batch * g.outHeight * g.outWidth;
      if (n === 0) return tf.zeros(attrs.filterShape);

      const xp = padForTaps(x4, g);
      const dy2 = tf.reshape(dy4, [n, outChannels]);
      const blocks = tapGroups(g, n * inChannels, IM2COL_CAP_FLOATS).map((group) => {
        const windows = group.map((t) =>
          tapWindow(xp, g, Math.floor(t / filterWidth), t % filterWidth),
        );
        const cols = windows.length === 1 ? windows[0]! : tf.concat(windows, 3);
        // [taps*Ci, N] x [N, Co]: transposeA keeps the im2col matrix in its natural layout.
        return tf.matMul(tf.reshape(cols, [n, group.length * inChannels]), dy2, true, false);
      });
      const dw = blocks.length === 1 ? blocks[0]! : tf.concat(blocks, 0);
      return tf.reshape(dw, [filterHeight, filterWidth, inChannels, outChannels]);
    }),
  );
  return handOff(result, backend);
}

export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: "wasm",
  kernelFunc: conv2dBackpropFilterWasm,
};
