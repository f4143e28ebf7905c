import * as tf from "@tensorflow/tfjs";
import { bulkFor, type BulkFns } from "./bulk.js";
import { replacing } from "./common.js";
import { wasmBackendThreads } from "./pool.js";
import { addressOf, type WasmHeap, wasmHeap } from "./simd.js";

// Why: wasm's PadV2 is XNNPACK's constant pad, which at two threads and more wakes XNNPACK's
// pthreadpool; its worker then spins before it sleeps (kernels/elementwise.ts says how much),
// and under load every call waits for that worker to be scheduled: a mini_xception step's two
// PadV2 calls (MaxPadding2D's -infinity border) took 2.5-11.8 ms at two threads against
// 0.6-0.8 at one (docs/PERFORMANCE.md). A constant pad is copies: the output is filled with
// the constant (memory.fill where its bytes repeat, else one element doubled by memory.copy),
// then each contiguous run of the input is copied to its place (bulk.ts), on the calling
// thread. Every value is copied, so the result is wasm's to the bit, but for NaN and -0
// constants, whose pads in wasm's kernel depend on the pads before (it reuses the XNNPACK
// operator of one whose constant compared equal: NaN after -infinity pads -infinity): here,
// as in cpu's, NaN pads NaN and -0 pads +0.

/** x padded by `paddings` ([before, after] per axis) with `value`, into a new tensor. */
function padBox(
  backend: WasmHeap,
  bulk: BulkFns,
  x: tf.TensorInfo,
  paddings: readonly (readonly [number, number])[],
  value: number,
): tf.TensorInfo {
  const shape = x.shape.map((d, i) => d + paddings[i]![0] + paddings[i]![1]);
  const out = backend.makeOutput(shape, x.dtype);
  const n = tf.util.sizeFromShape(shape);
  if (n === 0) return out;
  const to = addressOf(backend, out);
  const view = backend.typedArrayFromHeap(out) as Float32Array | Int32Array;
  view[0] = value === 0 ? 0 : value;
  const bytes = new Uint8Array(view.buffer, view.byteOffset, 4);
  if (bytes.every((b) => b === bytes[0])) bulk.fill(to, bytes[0]!, 4 * n);
  else
    for (let done = 1; done < n; done += Math.min(done, n - done))
      bulk.copy(to + 4 * done, to, 4 * Math.min(done, n - done));
  const count = tf.util.sizeFromShape([...x.shape]);
  if (count === 0) return out;
  const xStrides = [...tf.util.computeStrides(x.shape), 1];
  const outStrides = [...tf.util.computeStrides(shape), 1];
  // Axes after k are unpadded, so they lie alike in both: one run covers x.shape[k] rows.
  let k = x.shape.length - 1;
  while (k > 0 && paddings[k]![0] === 0 && paddings[k]![1] === 0) k--;
  const run = x.shape[k]! * xStrides[k]!;
  const from = addressOf(backend, x);
  const start = paddings.reduce((a, p, i) => a + p[0] * outStrides[i]!, 0);
  const index = new Array<number>(k).fill(0);
  for (let done = 0; done < count; done += run) {
    let offset = start;
    for (let a = 0; a < k; a++) offset += index[a]! * outStrides[a]!;
    bulk.copy(to + 4 * offset, from + 4 * done, 4 * run);
    for (let a = k - 1; a >= 0; a--) {
      if (++index[a]! < x.shape[a]!) break;
      index[a] = 0;
    }
  }
  return out;
}

/**
 * Outputs of more floats stay with wasm's kernel: filling them whole and then copying the
 * input in writes twice, and at 8x149x149x64 that was slower than XNNPACK's pad on two threads
 * (wall 25.1 against 19.5 ms, CPU 9.3 against 6.7), where at 32x30x30x64 and 32x16x16x64 this
 * was 3.7-7.8x faster and took 0.26-0.58x the CPU (bench/elementwise.ts, load average 12).
 */
export const MAX_PAD_ELEMENTS = 1 << 21;

/**
 * PadV2 of 4-D float32 and int32 tensors with outputs up to MAX_PAD_ELEMENTS where the backend
 * runs XNNPACK on more than one thread (1-D pads, measured, gain nothing: XNNPACK's did not
 * wake its pool there); on one thread, and otherwise, wasm's own kernel.
 */
export function padReplacement(theirs: tf.KernelConfig): tf.KernelConfig {
  return replacing(theirs, (args) => {
    const backend = wasmHeap(args.backend);
    const { x } = args.inputs as unknown as { x: tf.TensorInfo };
    const { paddings, constantValue } = args.attrs as unknown as tf.PadV2Attrs;
    const size = x.shape.reduce((a, d, i) => a * (d + paddings[i]![0] + paddings[i]![1]), 1);
    const bulk =
      (x.dtype === "float32" || x.dtype === "int32") &&
      x.shape.length === 4 &&
      size <= MAX_PAD_ELEMENTS &&
      wasmBackendThreads() > 1
        ? bulkFor(backend)
        : undefined;
    if (!bulk) return theirs.kernelFunc(args);
    return padBox(backend, bulk, x, paddings as [number, number][], constantValue);
  });
}
