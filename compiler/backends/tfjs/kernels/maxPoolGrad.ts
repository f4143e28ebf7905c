import * as tf from "@tensorflow/tfjs";

// Why: wasm's MaxPoolGrad took 16% of a mini_xception training step for its two
// pools, more than all depthwise gradients together. This one walks each window
// once per output pixel with all channels side by side (contiguous in NHWC), keeps
// the first maximum in the window's row-major order as the cpu backend does, and
// adds dy there, in place on the backend's memory.

export function maxPoolGradReplacement(theirs: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.MaxPoolGrad,
    backendName: "wasm",
    ...(theirs.setupFunc ? { setupFunc: theirs.setupFunc } : {}),
    kernelFunc: (args) => {
      const backend = args.backend as tf.KernelBackend;
      const { dy, input } = args.inputs as unknown as { dy: tf.TensorInfo; input: tf.TensorInfo };
      const attrs = args.attrs as unknown as tf.MaxPoolGradAttrs;
      if (input.dtype !== "float32" || dy.dtype !== "float32") return theirs.kernelFunc(args);
      const info = tf.backend_util.computePool2DInfo(
        input.shape as [number, number, number, number],
        attrs.filterSize,
        attrs.strides,
        1,
        attrs.pad,
        attrs.dimRoundingMode,
      );
      const wasm = backend as unknown as {
        makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo;
        typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
      };
      const out = wasm.makeOutput(input.shape, "float32");
      // Views after makeOutput: allocating can grow (and so replace) the heap.
      const dx = wasm.typedArrayFromHeap(out).fill(0);
      const x = wasm.typedArrayFromHeap(input);
      const g = wasm.typedArrayFromHeap(dy);
      const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth } = info;
      const best = new Float32Array(c);
      const at = new Int32Array(c);
      for (let b = 0; b < batchSize; b++)
        for (let oh = 0; oh < outHeight; oh++)
          for (let ow = 0; ow < outWidth; ow++) {
            best.fill(-Infinity);
            at.fill(-1);
            const h0 = oh * info.strideHeight - info.padInfo.top;
            const w0 = ow * info.strideWidth - info.padInfo.left;
            for (let kh = 0; kh < info.filterHeight; kh++) {
              const ih = h0 + kh;
              if (ih < 0 || ih >= inHeight) continue;
              for (let kw = 0; kw < info.filterWidth; kw++) {
                const iw = w0 + kw;
                if (iw < 0 || iw >= inWidth) continue;
                const base = ((b * inHeight + ih) * inWidth + iw) * c;
                for (let ch = 0; ch < c; ch++) {
                  const v = x[base + ch]!;
                  if (v > best[ch]!) {
                    best[ch] = v;
                    at[ch] = base + ch;
                  }
                }
              }
            }
            const dyBase = ((b * outHeight + oh) * outWidth + ow) * c;
            for (let ch = 0; ch < c; ch++) {
              const i = at[ch]!;
              if (i >= 0) dx[i] = dx[i]! + g[dyBase + ch]!;
            }
          }
      return out;
    },
  };
}
