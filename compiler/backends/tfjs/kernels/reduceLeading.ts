import * as tf from "@tensorflow/tfjs";
import { replacing } from "./common.js";
import { zeroOut } from "./bulk.js";
import { pooledSimdFor } from "./pooledRows.js";
import { addressOf, wasmHeap } from "./simd.js";

// Why: wasm's Sum and Mean reduce only innermost axes, so a reduction over the
// leading ones (batch norm's statistics and gradients, bias gradients: every
// [B, H, W, C] -> [C] reduction in training) first transposes the whole tensor.
// In a mini_xception step Mean, Sum and their Transposes were a quarter of the time.
// Over leading axes the tensor is a [N, C] matrix whose rows add up with the SIMD
// `sums` routine (simd.ts), in one pass and in place (on the kernel pool: pooledRows.ts). Other reductions, and other
// dtypes, go to wasm's own kernel.

function leadingSplit(shape: readonly number[], axis: number | number[]): number | undefined {
  const axes = tf.util.parseAxisParam(axis, [...shape]).sort((a, b) => a - b);
  if (axes.length === 0 || axes.length >= shape.length) return undefined;
  return axes.every((a, i) => a === i) ? axes.length : undefined;
}

function reduceConfig(name: "Sum" | "Mean", theirs: tf.KernelConfig): tf.KernelConfig {
  return replacing(theirs, (args) => {
    const backend = args.backend as tf.KernelBackend;
    const { x } = args.inputs as unknown as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as {
      axis: number | number[];
      keepDims: boolean;
    };
    const k = x.dtype === "float32" ? leadingSplit(x.shape, axis) : undefined;
    const simd = k === undefined ? undefined : pooledSimdFor(backend);
    if (k === undefined || simd === undefined) return theirs.kernelFunc(args);
    const rows = x.shape.slice(0, k).reduce((a, b) => a * b, 1);
    const rest = x.shape.slice(k);
    const width = rest.reduce((a, b) => a * b, 1);
    const wasm = wasmHeap(backend);
    const out = wasm.makeOutput(
      keepDims ? [...Array<number>(k).fill(1), ...rest] : rest,
      "float32",
    );
    zeroOut(backend, out);
    if (rows > 0 && width > 0)
      simd.sums(addressOf(backend, out), addressOf(backend, x), width, rows, 0, 4 * width);
    if (name === "Mean" && rows > 0) {
      const v = wasm.typedArrayFromHeap(out);
      for (let i = 0; i < v.length; i++) v[i] = v[i]! / rows;
    }
    return out;
  });
}

export const sumReplacement = (theirs: tf.KernelConfig): tf.KernelConfig =>
  reduceConfig("Sum", theirs);
export const meanReplacement = (theirs: tf.KernelConfig): tf.KernelConfig =>
  reduceConfig("Mean", theirs);
