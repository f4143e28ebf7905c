import type * as tf from "@tensorflow/tfjs";
import {
  addressOf,
  wasmHeap,
  boundTo,
  memoryImport,
  section,
  str,
  functionBody,
  i32Params,
  localGet,
  op,
  WASM_HEADER,
} from "./simd.js";

// Why: the threaded wasm build's heap is a SharedArrayBuffer, and V8 copies and fills
// typed arrays over shared memory element by element (relaxed atomics): measured here,
// 1.6 M floats take 3.5 ms to copy with set() and 1.3 ms to fill, 2.7x and 7x the same
// calls on plain memory. WebAssembly's bulk memory instructions do the same as memmove
// and memset. Two exports, assembled like simd.ts:
//   copy(dst, src, bytes)   memory.copy      fill(dst, byte, bytes)   memory.fill

export interface BulkFns {
  readonly copy: (dst: number, src: number, bytes: number) => void;
  readonly fill: (dst: number, byte: number, bytes: number) => void;
}

export function bulkModule(shared: boolean): Uint8Array {
  const fn = (code: number[]) =>
    functionBody([0], [...localGet(0), ...localGet(1), ...localGet(2), ...code, op.end]);
  return Uint8Array.from([
    ...WASM_HEADER,
    ...section(1, [1, ...i32Params(3)]),
    ...memoryImport(shared),
    ...section(3, [2, 0, 0]),
    ...section(7, [2, ...str("copy"), 0x00, 0, ...str("fill"), 0x00, 1]),
    // memory.copy 0 0 (0xfc 10), memory.fill 0 (0xfc 11)
    ...section(10, [2, ...fn([0xfc, 0x0a, 0x00, 0x00]), ...fn([0xfc, 0x0b, 0x00])]),
  ]);
}

/** copy and fill bound to this wasm backend's memory, or undefined (another backend). */
export function bulkFor(backend: tf.KernelBackend): BulkFns | undefined {
  return boundTo(backend, bulkModule, (e) => ({
    copy: e["copy"] as BulkFns["copy"],
    fill: e["fill"] as BulkFns["fill"],
  }));
}

/** Zeroes a float32 tensor on the wasm heap: memory.fill where it binds, else a typed-array fill. */
export function zeroOut(backend: tf.KernelBackend, t: tf.TensorInfo): void {
  const bulk = bulkFor(backend);
  if (bulk) bulk.fill(addressOf(backend, t), 0, 4 * t.shape.reduce((a, b) => a * b, 1));
  else wasmHeap(backend).typedArrayFromHeap(t).fill(0);
}
