import type * as tf from "@tensorflow/tfjs";

// A small WebAssembly SIMD routine that works in place on tfjs-backend-wasm's own
// memory, for gradient loops XNNPACK has no operator for. It is written here as
// bytes, with the instructions spelled out below, so that nothing has to be
// compiled or downloaded to build archc: the module is about 700 bytes and is
// assembled and instantiated once per backend memory.
//
//   rows(acc, a, b, n, count, accStride, aStride, bStride):
//     repeat count times:
//       acc[i] += a[i] * b[i] for i < n     (f32x4 for the first n & ~3, then scalar)
//       acc += accStride; a += aStride; b += bStride      (byte addresses and strides)
//
// With accStride 0 it accumulates many products into one row (a filter gradient);
// with aStride 0 it scatters one row times many into many rows (an input gradient).
// sums(acc, a, n, count, accStride, aStride) is the same loop without b: with
// accStride 0 it sums the rows of a matrix (a reduction over leading axes).
// rows2(acc, a, b, n, count, accS, aS, bS, outer, accS2, aS2, bS2) is rows under one more loop,
// outer times, moving acc, a and b by the second strides: a depthwise gradient's tap over all
// output rows of a sample in one call (rows2Body below).

/** sums(acc, a, n, count, accStride, aStride): acc[i] += a[i], count rows, strides in bytes. */
export type SumsFn = (
  acc: number,
  a: number,
  n: number,
  count: number,
  accStride: number,
  aStride: number,
) => void;

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

/** Value types of the binary format. */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
/** The binary format's magic number and version (1). */
export const WASM_HEADER: readonly number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
/** The type of a function that takes `params` i32s and returns nothing. */
export const i32Params = (params: number): number[] => [
  0x60,
  params,
  ...Array<number>(params).fill(I32),
  0,
];
/** The WebAssembly opcodes archc's hand-assembled modules use (this one and maxPoolSimd.ts). */
export const op = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  select: 0x1b,
  get: 0x20,
  set: 0x21,
  tee: 0x22,
  i32const: 0x41,
  f32const: 0x43,
  i32eqz: 0x45,
  i32ne: 0x47,
  i32geU: 0x4f,
  f32gt: 0x5e,
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

/**
 * f32x4.relaxed_madd (relaxed SIMD, 0xfd 0x105): a * b + c on the stack's last three, fused
 * (one rounding) where the CPU has FMA, a multiply and an add where not. The grouped tiles and
 * the pointwise tile use it where this engine validates it (relaxedSimd()): 0.79-0.91x their
 * CPU time with mul + add (docs/PERFORMANCE.md), results differing from cpu by that rounding.
 */
export const relaxedMadd: readonly number[] = [op.simd, 0x85, 0x02];

/** A module whose one function computes relaxed_madd of three zero vectors and drops it. */
const relaxedProbe = (): Uint8Array =>
  Uint8Array.from([
    ...WASM_HEADER,
    ...section(1, [1, 0x60, 0, 0]), // type () -> ()
    ...section(3, [1, 0]),
    ...section(10, [
      1,
      ...functionBody(
        [0],
        [
          ...[0, 1, 2].flatMap(() => [op.simd, 0x0c, ...Array<number>(16).fill(0)]), // v128.const 0
          ...relaxedMadd,
          0x1a, // drop
          op.end,
        ],
      ),
    ]),
  ]);

let relaxed: boolean | undefined;

/**
 * Whether archc's modules use relaxed_madd: this engine validates it (browsers since 2023,
 * Node 22; Node 20 after enableRelaxedSimd) and ARCHC_RELAXED_SIMD is not 0. Decided once.
 */
export function relaxedSimd(): boolean {
  if (relaxed === undefined) {
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
      ?.env;
    relaxed = env?.["ARCHC_RELAXED_SIMD"] !== "0" && (wasmApi?.validate(relaxedProbe()) ?? false);
  }
  return relaxed;
}

/**
 * Node 20's V8 (11.3) has relaxed SIMD behind --experimental-wasm-relaxed-simd, which V8 lets
 * a process set at run time; it must be set before archc's modules are first built (the wasm
 * backend's start calls this). Elsewhere (a browser, or Node where it validates already) it
 * does nothing. ARCHC_RELAXED_SIMD=0 leaves the flag alone and the modules on mul + add.
 */
export function enableRelaxedSimd(): void {
  if (relaxed !== undefined) return;
  const proc = (
    globalThis as {
      process?: {
        env?: Record<string, string | undefined>;
        getBuiltinModule?: (id: string) => unknown;
      };
    }
  ).process;
  if (!proc?.getBuiltinModule || proc.env?.["ARCHC_RELAXED_SIMD"] === "0") return;
  if (wasmApi?.validate(relaxedProbe())) return;
  const v8 = proc.getBuiltinModule("v8") as { setFlagsFromString(flags: string): void } | undefined;
  v8?.setFlagsFromString("--experimental-wasm-relaxed-simd");
}

// Instruction-sequence helpers shared by the hand-assembled modules (locals by index).
export const localGet = (l: number): number[] => [op.get, l];
export const localSet = (l: number): number[] => [op.set, l];
/** l += by (by: instructions leaving an i32). */
export const addTo = (l: number, by: number[]): number[] => [
  ...localGet(l),
  ...by,
  op.i32add,
  ...localSet(l),
];
export const decrement = (l: number): number[] => [
  ...localGet(l),
  op.i32const,
  1,
  op.i32sub,
  ...localSet(l),
];
/** for (; index < end; index += step) body, as block/loop (index must be set before). */
export const upTo = (index: number, end: number, step: number, body: number[]): number[] => [
  op.block,
  0x40,
  op.loop,
  0x40,
  ...localGet(index),
  ...localGet(end),
  op.i32geU,
  op.brIf,
  1,
  ...body,
  ...addTo(index, [op.i32const, step]),
  op.br,
  0,
  op.end,
  op.end,
];
/** while (counter-- > 0) body, as block/loop (the counter must be set before). */
export const repeat = (counter: number, body: number[]): number[] => [
  op.block,
  0x40,
  op.loop,
  0x40,
  ...localGet(counter),
  op.i32eqz,
  op.brIf,
  1,
  ...body,
  ...decrement(counter),
  op.br,
  0,
  op.end,
  op.end,
];

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

export const str = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, "utf8")];
/** A code-section entry: its size, the local declarations, the instructions (ending in `end`). */
export const functionBody = (locals: number[], code: number[]): number[] => [
  ...uleb(locals.length + code.length),
  ...locals,
  ...code,
];
export const section = (id: number, body: number[]): number[] => [
  id,
  ...uleb(body.length),
  ...body,
];

/**
 * One function's body: with `product`, rows(acc, a, b, n, count, accS, aS, bS);
 * without, sums(acc, a, n, count, accS, aS), which adds rows of a into acc.
 */
function body(product: boolean): number[] {
  const P = product
    ? { ACC: 0, A: 1, B: 2, N: 3, COUNT: 4, ACCS: 5, AS: 6, BS: 7, I: 8, NV: 9, NB: 10 }
    : { ACC: 0, A: 1, B: -1, N: 2, COUNT: 3, ACCS: 4, AS: 5, BS: -1, I: 6, NV: 7, NB: 8 };
  const get = (l: number) => [op.get, l];
  const set = (l: number) => [op.set, l];
  const addr = (base: number) => [...get(base), ...get(P.I), op.i32add];
  const advance = (p: number, by: number) => [...get(p), ...get(by), op.i32add, ...set(p)];
  // acc[i] (+)= a[i] (* b[i]), as vectors or as scalars.
  const update = (load: number[], mul: number[], add: number[], store: number[]) => [
    ...addr(P.ACC),
    ...addr(P.ACC),
    ...load,
    ...addr(P.A),
    ...load,
    ...(product ? [...addr(P.B), ...load, ...mul] : []),
    ...add,
    ...store,
  ];
  // for (; i < end; i += step) update
  const inner = (end: number, step: number, u: number[]) => [
    op.block,
    0x40,
    op.loop,
    0x40,
    ...get(P.I),
    ...get(end),
    op.i32geU,
    op.brIf,
    1,
    ...u,
    ...get(P.I),
    op.i32const,
    step,
    op.i32add,
    ...set(P.I),
    op.br,
    0,
    op.end,
    op.end,
  ];
  const code = [
    // nv = (n & ~3) << 2; nb = n << 2 (bytes of the vector part, of the whole row)
    ...get(P.N),
    op.i32const,
    0x7c, // -4
    op.i32and,
    op.i32const,
    2,
    op.i32shl,
    ...set(P.NV),
    ...get(P.N),
    op.i32const,
    2,
    op.i32shl,
    ...set(P.NB),
    op.block,
    0x40,
    op.loop,
    0x40,
    ...get(P.COUNT),
    op.i32eqz,
    op.brIf,
    1,
    op.i32const,
    0,
    ...set(P.I),
    ...inner(P.NV, 16, update(v128load, f32x4mul, f32x4add, v128store)),
    ...inner(P.NB, 4, update(f32load, [op.f32mul], [op.f32add], f32store)),
    ...advance(P.ACC, P.ACCS),
    ...advance(P.A, P.AS),
    ...(product ? advance(P.B, P.BS) : []),
    ...get(P.COUNT),
    op.i32const,
    1,
    op.i32sub,
    ...set(P.COUNT),
    op.br,
    0,
    op.end,
    op.end,
    op.end,
  ];
  return functionBody([...uleb(1), 3, I32], code); // one group of 3 i32 locals
}

/**
 * rows2(acc, a, b, n, count, accS, aS, bS, outer, accS2, aS2, bS2): `outer` times, rows(acc, a,
 * b, n, count, accS, aS, bS), then acc += accS2, a += aS2, b += bS2. One call walks a plane
 * (a depthwise tap over every output row of a sample) where rows walks one row of it: 28x fewer
 * calls from JavaScript, and few enough to hand the kernel pool.
 */
function rows2Body(): number[] {
  const [ACC, A, B, N, COUNT, ACCS, AS, BS, OUTER, ACCS2, AS2, BS2] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
  ];
  const [I, NV, NB, K, PACC, PA, PB] = [12, 13, 14, 15, 16, 17, 18];
  const addr = (base: number) => [...localGet(base), ...localGet(I), op.i32add];
  const update = (load: number[], mul: number[], add: number[], store: number[]) => [
    ...addr(PACC),
    ...addr(PACC),
    ...load,
    ...addr(PA),
    ...load,
    ...addr(PB),
    ...load,
    ...mul,
    ...add,
    ...store,
  ];
  // for (; i < end; i += step) update
  const inner = (end: number, step: number, u: number[]) => [
    op.block,
    0x40,
    op.loop,
    0x40,
    ...localGet(I),
    ...localGet(end),
    op.i32geU,
    op.brIf,
    1,
    ...u,
    ...addTo(I, [op.i32const, step]),
    op.br,
    0,
    op.end,
    op.end,
  ];
  const row = [
    op.i32const,
    0,
    ...localSet(I),
    ...inner(NV, 16, update(v128load, f32x4mul, f32x4add, v128store)),
    ...inner(NB, 4, update(f32load, [op.f32mul], [op.f32add], f32store)),
    ...addTo(PACC, localGet(ACCS)),
    ...addTo(PA, localGet(AS)),
    ...addTo(PB, localGet(BS)),
  ];
  const code = [
    ...localGet(N),
    op.i32const,
    0x7c, // -4
    op.i32and,
    op.i32const,
    2,
    op.i32shl,
    ...localSet(NV),
    ...localGet(N),
    op.i32const,
    2,
    op.i32shl,
    ...localSet(NB),
    ...repeat(OUTER, [
      ...localGet(COUNT),
      ...localSet(K),
      ...localGet(ACC),
      ...localSet(PACC),
      ...localGet(A),
      ...localSet(PA),
      ...localGet(B),
      ...localSet(PB),
      ...repeat(K, row),
      ...addTo(ACC, localGet(ACCS2)),
      ...addTo(A, localGet(AS2)),
      ...addTo(B, localGet(BS2)),
    ]),
    op.end,
  ];
  return functionBody([...uleb(1), 7, I32], code); // one group of 7 i32 locals
}

/** The module's bytes; `shared` matches the threaded build's shared memory. */
export function rowsModule(shared: boolean): Uint8Array {
  return Uint8Array.from([
    ...WASM_HEADER,
    ...section(1, [3, ...i32Params(8), ...i32Params(6), ...i32Params(12)]),
    ...memoryImport(shared),
    ...section(3, [3, 0, 1, 2]),
    ...section(7, [3, ...str("rows"), 0x00, 0, ...str("sums"), 0x00, 1, ...str("rows2"), 0x00, 2]),
    ...section(10, [3, ...body(true), ...body(false), ...rows2Body()]),
  ]);
}

export interface WasmApi {
  Module: new (bytes: Uint8Array) => unknown;
  Instance: new (m: unknown, imports: object) => { exports: Record<string, unknown> };
  Memory: new (d: object) => unknown;
  validate(bytes: Uint8Array): boolean;
}
export const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** rows2(acc, a, b, n, count, accS, aS, bS, outer, accS2, aS2, bS2): see rows2Body. */
export type Rows2Fn = (...args: [...Parameters<RowsFn>, number, number, number, number]) => void;

export interface SimdFns {
  readonly rows: RowsFn;
  readonly sums: SumsFn;
  readonly rows2: Rows2Fn;
}

/** The backend's wasm memory: the emscripten module's export, or the threaded build's own. */
export function memoryOf(
  backend: tf.KernelBackend,
): { memory: object; shared: boolean } | undefined {
  const mod = (backend as unknown as { wasm?: Record<string, unknown> }).wasm;
  const memory = (mod?.["wasmMemory"] ?? (mod?.["asm"] as Record<string, unknown>)?.["memory"]) as
    { buffer: ArrayBufferLike } | undefined;
  if (!memory) return undefined;
  const shared =
    typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
  return { memory, shared };
}

/** The import section entry of a module that works on the backend's memory, plain or shared. */
export function memoryImport(shared: boolean): number[] {
  const limits = shared ? [0x03, 1, ...uleb(65536)] : [0x00, 1];
  return section(2, [1, ...str("env"), ...str("memory"), 0x02, ...limits]);
}

const bound = new WeakMap<object, Map<(shared: boolean) => Uint8Array, unknown>>();

/**
 * The exports of the module `build` assembles, instantiated once per backend memory on that
 * memory, and picked by `pick`; undefined where that cannot be had (this engine lacks what
 * the module uses, or the backend is not wasm): callers then keep a composition or JS loop.
 */
export function boundTo<T>(
  backend: tf.KernelBackend,
  build: (shared: boolean) => Uint8Array,
  pick: (exports: Record<string, unknown>) => T,
): T | undefined {
  const found = memoryOf(backend);
  if (!found || !wasmApi) return undefined;
  let byModule = bound.get(found.memory);
  if (!byModule) bound.set(found.memory, (byModule = new Map()));
  if (byModule.has(build)) return (byModule.get(build) as T | null) ?? undefined;
  let fns: T | null = null;
  try {
    const bytes = build(found.shared);
    if (wasmApi.validate(bytes)) {
      const instance = new wasmApi.Instance(new wasmApi.Module(bytes), {
        env: { memory: found.memory },
      });
      fns = pick(instance.exports);
    }
  } catch {
    fns = null;
  }
  byModule.set(build, fns);
  return fns ?? undefined;
}

/**
 * `rows` bound to this wasm backend's memory, or undefined where that cannot be had
 * (no SIMD in this engine, another backend): callers then keep their composition.
 */
export function rowsFor(backend: tf.KernelBackend): RowsFn | undefined {
  return simdFor(backend)?.rows;
}

/** Both routines bound to this wasm backend's memory, or undefined (see rowsFor). */
export function simdFor(backend: tf.KernelBackend): SimdFns | undefined {
  return boundTo(backend, rowsModule, (e) => ({
    rows: e["rows"] as RowsFn,
    sums: e["sums"] as SumsFn,
    rows2: e["rows2"] as Rows2Fn,
  }));
}

/** What archc's kernels use of tfjs-backend-wasm's backend object (its class is not exported). */
export interface WasmHeap extends tf.KernelBackend {
  makeOutput(
    shape: number[],
    dtype: tf.DataType,
    memoryOffset?: number,
    values?: Float32Array,
  ): tf.TensorInfo;
  /** A float32 tensor's elements, viewed in place (take it after allocating: the heap can grow). */
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

export const wasmHeap = (backend: object): WasmHeap => backend as WasmHeap;

/** A tensor's byte address in the wasm backend's memory. */
export function addressOf(backend: tf.KernelBackend, t: tf.TensorInfo): number {
  const data = (
    backend as unknown as { dataIdMap: { get(id: object): { memoryOffset: number } } }
  ).dataIdMap.get(t.dataId);
  return data.memoryOffset;
}
