import * as tf from "@tensorflow/tfjs";
import { geometryOf, handOff, padForTaps, tapGroups, tapWindow, withTensors } from "./common.js";

export let VARIANT: "mulsum" | "mulones" | "bmm" = "mulones";
export function setVariant(v: typeof VARIANT): void {
  VARIANT = v;
}

const CAP_FLOATS = 1 << 24;

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
      const n = g.batch * g.outHeight * g.outWidth;
      if (n === 0) return tf.zeros(attrs.filterShape);
      const xp = padForTaps(x4, g);
      const taps = filterHeight * filterWidth;
      const win = (t: number): tf.Tensor4D =>
        tapWindow(xp, g, Math.floor(t / filterWidth), t % filterWidth);

      if (VARIANT === "bmm") {
        // channel-major: [Ci, K, N] x [Ci, N, M]
        const dyc = tf.transpose(tf.reshape(dyIn!, [n, inChannels, multiplier]), [1, 0, 2]);
        const blocks = tapGroups(g, n * inChannels, CAP_FLOATS).map((group) => {
          const ws = group.map((t) => tf.reshape(win(t), [n, inChannels]));
          const cols = tf.transpose(tf.stack(ws, 0), [2, 0, 1]); // [Ci, G, N]
          return tf.matMul(cols, dyc); // [Ci, G, M]
        });
        const dw = blocks.length === 1 ? blocks[0]! : tf.concat(blocks, 1);
        return tf.reshape(tf.transpose(dw, [1, 0, 2]), attrs.filterShape);
      }
      const dy5 = tf.reshape(dyIn!, [n, 1, inChannels, multiplier]);
      const ones = tf.ones([1, n]);
      const parts: tf.Tensor[] = [];
      for (const group of tapGroups(g, n * inChannels * multiplier, CAP_FLOATS)) {
        const ws = group.map((t) => tf.reshape(win(t), [n, 1, inChannels, 1]));
        const cols = ws.length === 1 ? ws[0]! : tf.concat(ws, 1); // [N, G, Ci, 1]
        const prod =
          multiplier === 1
            ? tf.mul(cols, group.length === 1 ? dy5 : tf.tile(dy5, [1, group.length, 1, 1]))
            : tf.mul(cols, dy5);
        const flat = tf.reshape(prod, [n, group.length * inChannels * multiplier]);
        parts.push(
          VARIANT === "mulsum" ? tf.sum(flat, 0) : tf.reshape(tf.matMul(ones, flat), [-1]),
        );
      }
      const dw = parts.length === 1 ? parts[0]! : tf.concat(parts, 0);
      void taps;
      return tf.reshape(dw, attrs.filterShape);
    }),
  );
  return handOff(result, backend);
}

export const depthwiseBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: "wasm",
  kernelFunc: depthwiseBackpropFilterWasm,
};
