import type * as tf from "@tensorflow/tfjs";

// A small WebAssembly SIMD routine that works in place on tfjs-backend-wasm's own
// memory, for gradient loops XNNPACK has no operator for. It is written here as
// bytes, with the instructions spelled out below, so that nothing has to be
// compiled or downloaded to build archc: the module is about 150 bytes and is
// assembled and instantiated once per backend memory.
//
//   rows(acc, a, b, n, count, accStride, aStride, bStride):
//     repeat count times:
//       acc[i] += a[i] * b[i] for i < n     (f32x4 for the first n & ~3, then scalar)
//       acc += accStride; a += aStride; b += bStride      (byte addresses and strides)
//
// With accStride 0 it accumulates many products into one row (a filter gradient);
// with aStride 0 it scatters one row times many into many rows (an input gradient).

export type RowsFn = (
  acc: number,
  a: number,
  b: number,
  n: number,
  count: number,
  accStride: number,
  aStride: number,
  bStride: number,
) => void;

const I32 = 0x7f;
const op = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  get: 0x20,
  set: 0x21,
  i32const: 0x41,
  i32eqz: 0x45,
  i32geU: 0x4f,
  i32add: 0x6a,
  i32sub: 0x6b,
  i32and: 0x71,
  i32shl: 0x74,
  f32load: 0x2a,
  f32store: 0x38,
  f32add: 0x92,
  f32mul: 0x94,
  simd: 0xfd,
} as const;
// SIMD sub-opcodes (LEB128 after 0xfd): v128.load 0, v128.store 11, f32x4.add 228, f32x4.mul 230.
const v128load = [op.simd, 0x00, 0x00, 0x00]; // memarg: align 2^0, offset 0
const v128store = [op.simd, 0x0b, 0x00, 0x00];
const f32x4add = [op.simd, 0xe4, 0x01];
const f32x4mul = [op.simd, 0xe6, 0x01];
const f32load = [op.f32load, 0x02, 0x00]; // align 2^2, offset 0
const f32store = [op.f32store, 0x02, 0x00];

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

const str = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, "utf8")];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

/** The module's bytes; `shared` matches the threaded build's shared memory. */
export function rowsModule(shared: boolean): Uint8Array {
  // Parameters 0-7 as in RowsFn; locals 8 (i), 9 (vector bytes), 10 (all bytes).
  const [ACC, A, B, N, COUNT, ACCS, AS, BS, I, NV, NB] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const get = (l: number) => [op.get, l];
  const set = (l: number) => [op.set, l];
  const addr = (base: number) => [...get(base), ...get(I), op.i32add];
  const advance = (p: number, by: number) => [...get(p), ...get(by), op.i32add, ...set(p)];
  const body = [
    // nv = (n & ~3) << 2; nb = n << 2
    ...get(N),
    op.i32const,
    0x7c, // -4
    op.i32and,
    op.i32const,
    2,
    op.i32shl,
    ...set(NV),
    ...get(N),
    op.i32const,
    2,
    op.i32shl,
    ...set(NB),
    op.block,
    0x40,
    op.loop,
    0x40,
    ...get(COUNT),
    op.i32eqz,
    op.brIf,
    1,
    op.i32const,
    0,
    ...set(I),
    // vector part
    op.block,
    0x40,
    op.loop,
    0x40,
    ...get(I),
    ...get(NV),
    op.i32geU,
    op.brIf,
    1,
    ...addr(ACC),
    ...addr(ACC),
    ...v128load,
    ...addr(A),
    ...v128load,
    ...addr(B),
    ...v128load,
    ...f32x4mul,
    ...f32x4add,
    ...v128store,
    ...get(I),
    op.i32const,
    16,
    op.i32add,
    ...set(I),
    op.br,
    0,
    op.end,
    op.end,
    // scalar tail
    op.block,
    0x40,
    op.loop,
    0x40,
    ...get(I),
    ...get(NB),
    op.i32geU,
    op.brIf,
    1,
    ...addr(ACC),
    ...addr(ACC),
    ...f32load,
    ...addr(A),
    ...f32load,
    ...addr(B),
    ...f32load,
    op.f32mul,
    op.f32add,
    ...f32store,
    ...get(I),
    op.i32const,
    4,
    op.i32add,
    ...set(I),
    op.br,
    0,
    op.end,
    op.end,
    ...advance(ACC, ACCS),
    ...advance(A, AS),
    ...advance(B, BS),
    ...get(COUNT),
    op.i32const,
    1,
    op.i32sub,
    ...set(COUNT),
    op.br,
    0,
    op.end,
    op.end,
    op.end,
  ];
  const func = [...uleb(1), 3, I32, ...body]; // one local group: 3 x i32
  const memory = shared ? [0x03, 1, ...uleb(65536)] : [0x00, 1];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, 8, ...Array<number>(8).fill(I32), 0]),
    ...section(2, [1, ...str("env"), ...str("memory"), 0x02, ...memory]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...str("rows"), 0x00, 0]),
    ...section(10, [1, ...uleb(func.length), ...func]),
  ]);
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => unknown;
  Instance: new (m: unknown, imports: object) => { exports: Record<string, unknown> };
  Memory: new (d: object) => unknown;
  validate(bytes: Uint8Array): boolean;
}
const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

const cache = new WeakMap<object, RowsFn | null>();

/** The backend's wasm memory: the emscripten module's export, or the threaded build's own. */
function memoryOf(backend: tf.KernelBackend): { memory: object; shared: boolean } | undefined {
  const mod = (backend as unknown as { wasm?: Record<string, unknown> }).wasm;
  const memory = (mod?.["wasmMemory"] ?? (mod?.["asm"] as Record<string, unknown>)?.["memory"]) as
    { buffer: ArrayBufferLike } | undefined;
  if (!memory) return undefined;
  const shared =
    typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
  return { memory, shared };
}

/**
 * `rows` bound to this wasm backend's memory, or undefined where that cannot be had
 * (no SIMD in this engine, another backend): callers then keep their composition.
 */
export function rowsFor(backend: tf.KernelBackend): RowsFn | undefined {
  const found = memoryOf(backend);
  if (!found || !wasmApi) return undefined;
  const cached = cache.get(found.memory);
  if (cached !== undefined) return cached ?? undefined;
  let fn: RowsFn | null = null;
  try {
    const bytes = rowsModule(found.shared);
    if (wasmApi.validate(bytes)) {
      const instance = new wasmApi.Instance(new wasmApi.Module(bytes), {
        env: { memory: found.memory },
      });
      fn = instance.exports["rows"] as RowsFn;
    }
  } catch {
    fn = null;
  }
  cache.set(found.memory, fn);
  return fn ?? undefined;
}

/** A tensor's byte address in the wasm backend's memory. */
export function addressOf(backend: tf.KernelBackend, t: tf.TensorInfo): number {
  const data = (
    backend as unknown as { dataIdMap: { get(id: object): { memoryOffset: number } } }
  ).dataIdMap.get(t.dataId);
  return data.memoryOffset;
}
