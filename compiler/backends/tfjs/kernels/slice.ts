import * as tf from "@tensorflow/tfjs";
import { replacing } from "./common.js";
import { bulkFor, type BulkFns } from "./bulk.js";
import { addressOf, type WasmHeap, wasmHeap } from "./simd.js";

// Why: wasm's Slice reads its whole input into a fresh JS array (readSync) before copying
// out the part it wants, and its Unpack calls that Slice once per output: a grouped
// convolution's `split` lowering unstacked a [4, n*h*w, c/4] tensor by copying all of it
// four times (Unpack was 15% of a mini_xception parts = 4 training step), and every crop
// in the gradients (Pad's, Concat's, the filter gradients' tap windows) paid a full copy.
// Here a slice is the fewest contiguous runs its geometry allows, each one memory.copy
// (bulk.ts) from the input's place in the heap to the output's.

/** Copies the box [begin, begin + size) of x into a new tensor. */
function sliceBox(
  backend: WasmHeap,
  bulk: BulkFns,
  x: tf.TensorInfo,
  begin: readonly number[],
  size: readonly number[],
): tf.TensorInfo {
  const out = backend.makeOutput([...size], x.dtype);
  const count = tf.util.sizeFromShape([...size]);
  if (count === 0) return out;
  const bytes = tf.util.bytesPerElement(x.dtype);
  const strides = [...tf.util.computeStrides(x.shape), 1];
  // Axes after `k` are whole, so one run covers size[k] rows of them.
  let k = x.shape.length - 1;
  while (k > 0 && begin[k] === 0 && size[k] === x.shape[k]) k--;
  const run = size[k]! * strides[k]!;
  const from = addressOf(backend, x);
  const to = addressOf(backend, out);
  const start = begin.reduce((a, b, i) => a + b * strides[i]!, 0);
  // Walk the outer axes [0, k) as an odometer.
  const index = new Array<number>(k).fill(0);
  for (let done = 0; done < count; done += run) {
    let offset = start;
    for (let a = 0; a < k; a++) offset += index[a]! * strides[a]!;
    bulk.copy(to + done * bytes, from + offset * bytes, run * bytes);
    for (let a = k - 1; a >= 0; a--) {
      if (++index[a]! < size[a]!) break;
      index[a] = 0;
    }
  }
  return out;
}

export function sliceReplacement(theirs: tf.KernelConfig): tf.KernelConfig {
  return replacing(theirs, (args) => {
    const backend = wasmHeap(args.backend);
    const { x } = args.inputs as unknown as { x: tf.TensorInfo };
    const bulk = x.dtype === "string" ? undefined : bulkFor(backend);
    if (!bulk) return theirs.kernelFunc(args);
    const { begin, size } = args.attrs as unknown as tf.SliceAttrs;
    const [b, s] = tf.slice_util.parseSliceParams(x as tf.TensorInfo as tf.Tensor, begin, size);
    return sliceBox(backend, bulk, x, b!, s!);
  });
}

export function unpackReplacement(theirs: tf.KernelConfig): tf.KernelConfig {
  return replacing(theirs, (args) => {
    const backend = wasmHeap(args.backend);
    const { value } = args.inputs as unknown as { value: tf.TensorInfo };
    const bulk = value.dtype === "string" ? undefined : bulkFor(backend);
    if (!bulk) return theirs.kernelFunc(args);
    let { axis } = args.attrs as unknown as tf.UnpackAttrs;
    if (axis < 0) axis += value.shape.length;
    const outShape = value.shape.filter((_, i) => i !== axis);
    const begin = value.shape.map(() => 0);
    const size = value.shape.slice();
    size[axis] = 1;
    return Array.from({ length: value.shape[axis]! }, (_, i) => {
      begin[axis] = i;
      const part = sliceBox(backend, bulk, value, begin, size);
      return { ...part, shape: outShape };
    });
  });
}
