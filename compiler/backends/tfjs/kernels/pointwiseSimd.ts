import type * as tf from "@tensorflow/tfjs";
import { zeroOut } from "./bulk.js";
import {
  addTo,
  addressOf,
  boundTo,
  relaxedMadd,
  relaxedSimd,
  localGet,
  localSet,
  memoryImport,
  op,
  repeat,
  section,
  str,
  uleb,
  functionBody,
  i32Params,
  simdFor,
  I32,
  F32,
  V128,
  WASM_HEADER,
  wasmHeap,
} from "./simd.js";
import { poolThreads, runJob, TASKS_PER_THREAD, type Call } from "./pool.js";

// The pointwise (1x1, stride 1, NHWC) filter gradient dW[ci, co] = sum over pixels p of
// x[p, ci] * dy[p, co], straight from the two row-major [m, c] operands on the wasm
// backend's own memory (plain or shared). The matMul it replaces needs one operand
// transposed (wasm's Transpose) and XNNPACK packs its right operand afresh on every call
// (a new tensor each step), each at ~6 ns an element: more than the GEMM itself.
// Assembled from the bytes below like simd.ts's rows/sums:
//
//   tile(dw, x, dy, count, xs, dys, n8):     a 4 (ci) x 8 (co) register tile, n8 times along co
//     for t < n8:
//       acc[r][h] = dw[r*dys + 32t + 16h]       (8 v128 locals; dW's row stride is dy's, co*4)
//       repeat count times (pixels; x += xs, dy += dys):
//         d0, d1 = dy[32t], dy[32t + 16]         (two v128 loads)
//         for r < 4: s = splat x[4r] (v128.load32_splat); acc[r][0] += s*d0; acc[r][1] += s*d1
//       dw[...] = acc
//
//   dots(dw, x, dy, count, xs, dys, n):     the edges, scalar
//     for j < n: dw[j] += sum over count pixels of x[p*xs] * dy[p*dys + j]
//
// The caller (pointwiseFilterGrad) walks blocks of pixels so a block's x and dy rows stay in
// cache across the tiles, and covers ci % 4 and co % 8 with dots.

/** tile(dw, x, dy, count, xs, dys, n8), byte addresses and strides, as above. */
export type TileFn = (
  dw: number,
  x: number,
  dy: number,
  count: number,
  xs: number,
  dys: number,
  n8: number,
) => void;

export interface PointwiseFns {
  readonly tile: TileFn;
  /** dots(dw, x, dy, count, xs, dys, n), as above. */
  readonly dots: TileFn;
}

const i32mul = 0x6c;
// SIMD sub-opcodes (LEB128 after 0xfd): v128.load 0, v128.load32_splat 9, v128.store 11,
// f32x4.add 228, f32x4.mul 230. memarg: alignment exponent, then the byte offset.
const v128load = (offset: number) => [op.simd, 0x00, 0x00, ...uleb(offset)];
const v128store = (offset: number) => [op.simd, 0x0b, 0x00, ...uleb(offset)];
const load32splat = (offset: number) => [op.simd, 0x09, 0x02, ...uleb(offset)];
const f32x4add = [op.simd, 0xe4, 0x01];
const f32x4mul = [op.simd, 0xe6, 0x01];
const f32load = [op.f32load, 0x02, 0x00];
const f32store = [op.f32store, 0x02, 0x00];

// Parameters of both functions.
const DW = 0,
  X = 1,
  DY = 2,
  COUNT = 3,
  XS = 4,
  DYS = 5,
  N = 6;

const get = localGet;
const set = localSet;
const add = addTo;

/** The 4x8 tile; `fma`: relaxed_madd(splat, dy, acc) instead of acc + splat * dy. */
function tileBody(fma: boolean): number[] {
  // Locals: i32 T, XP, DP, C, W; v128 acc (8), D0, D1, S.
  const T = 7,
    XP = 8,
    DP = 9,
    C = 10,
    W = 11;
  const ACC = 12,
    D0 = 20,
    D1 = 21,
    S = 22;
  // The address of row r of the tile in dW: w + r * dys.
  const row = (r: number) =>
    r === 0 ? get(W) : [...get(W), ...get(DYS), op.i32const, r, i32mul, op.i32add];
  const loadAcc = [0, 1, 2, 3].flatMap((r) =>
    [0, 1].flatMap((h) => [...row(r), ...v128load(16 * h), ...set(ACC + 2 * r + h)]),
  );
  const storeAcc = [0, 1, 2, 3].flatMap((r) =>
    [0, 1].flatMap((h) => [...row(r), ...get(ACC + 2 * r + h), ...v128store(16 * h)]),
  );
  const pixel = [
    ...get(DP),
    ...v128load(0),
    ...set(D0),
    ...get(DP),
    ...v128load(16),
    ...set(D1),
    ...[0, 1, 2, 3].flatMap((r) => [
      ...get(XP),
      ...load32splat(4 * r),
      ...set(S),
      ...[D0, D1].flatMap((d, h) =>
        fma
          ? [...get(S), ...get(d), ...get(ACC + 2 * r + h), ...relaxedMadd, ...set(ACC + 2 * r + h)]
          : [
              ...get(ACC + 2 * r + h),
              ...get(S),
              ...get(d),
              ...f32x4mul,
              ...f32x4add,
              ...set(ACC + 2 * r + h),
            ],
      ),
    ]),
    ...add(XP, get(XS)),
    ...add(DP, get(DYS)),
  ];
  const code = [
    ...get(DW),
    ...set(W),
    ...get(DY),
    ...set(DP), // dp walks the tiles' first pixel rows (dy + 32t)
    ...get(N),
    ...set(T),
    ...repeat(T, [
      ...loadAcc,
      ...get(X),
      ...set(XP),
      ...get(DP),
      ...get(COUNT),
      ...set(C),
      ...repeat(C, pixel),
      ...set(DP), // back to this tile's first row (kept on the stack)
      ...storeAcc,
      ...add(W, [op.i32const, 32]),
      ...add(DP, [op.i32const, 32]),
    ]),
  ];
  return functionBody([...uleb(2), 5, I32, 11, V128], [...code, op.end]);
}

function dotsBody(): number[] {
  // Locals: i32 J, XP, DP, C; f32 ACC.
  const J = 7,
    XP = 8,
    DP = 9,
    C = 10;
  const ACC = 11;
  const code = [
    ...get(N),
    ...set(J),
    ...repeat(J, [
      ...get(DW),
      ...f32load,
      ...set(ACC),
      ...get(X),
      ...set(XP),
      ...get(DY),
      ...set(DP),
      ...get(COUNT),
      ...set(C),
      ...repeat(C, [
        ...get(ACC),
        ...get(XP),
        ...f32load,
        ...get(DP),
        ...f32load,
        op.f32mul,
        op.f32add,
        ...set(ACC),
        ...add(XP, get(XS)),
        ...add(DP, get(DYS)),
      ]),
      ...get(DW),
      ...get(ACC),
      ...f32store,
      ...add(DW, [op.i32const, 4]),
      ...add(DY, [op.i32const, 4]),
    ]),
  ];
  return functionBody([...uleb(2), 4, I32, 1, F32], [...code, op.end]);
}

/**
 * The module's bytes; `shared` matches the threaded build's shared memory; `fma` uses relaxed
 * SIMD's fused multiply-add in the tile (simd.ts' relaxedSimd: where this engine has it).
 */
export function pointwiseModule(shared: boolean, fma = relaxedSimd()): Uint8Array {
  return Uint8Array.from([
    ...WASM_HEADER,
    ...section(1, [1, ...i32Params(7)]),
    ...memoryImport(shared),
    ...section(3, [2, 0, 0]),
    ...section(7, [2, ...str("tile"), 0x00, 0, ...str("dots"), 0x00, 1]),
    ...section(10, [2, ...tileBody(fma), ...dotsBody()]),
  ]);
}

/**
 * `tile` and `dots` bound to this wasm backend's memory, or undefined where that cannot be
 * had (no SIMD in this engine, another backend): the kernel then keeps its matMul.
 */
export function pointwiseFor(backend: tf.KernelBackend): PointwiseFns | undefined {
  return boundTo(backend, pointwiseModule, (e) => ({
    tile: e["tile"] as TileFn,
    dots: e["dots"] as TileFn,
  }));
}

/**
 * Pixels per block, and output channels per pass over a block's ci tiles (a multiple of 8):
 * the block's dy columns of one chunk stay in cache while x's rows stream past. Measured
 * (bench/pointwiseFilterGrad.ts, 2 threads on a loaded machine, ms), blocks without a chunk
 * -> 256 pixels x 64 channels: 6272, 128 -> 128: 11.6-13.5 -> 10.1; 10952, 256 -> 728:
 * 375-397 -> 241; 2888, 728 -> 728: 209-277 -> 163; 128 or 512 pixels, 32 or 128 channels
 * are no better.
 */
export const PIXEL_BLOCK = 256;
export const CO_CHUNK = 64;

/**
 * The calls that make dW[ci, co] += x^T dy for x [m, ci] and dy [m, co], row-major at byte
 * addresses xAt and dyAt, into dW at dwAt.
 */
export function pointwiseCalls(
  dwAt: number,
  xAt: number,
  dyAt: number,
  m: number,
  ci: number,
  co: number,
  block = PIXEL_BLOCK,
  chunk = CO_CHUNK,
): Call[] {
  const calls: Call[] = [];
  const call = (fn: "tile" | "dots", ...args: number[]) =>
    calls.push({ module: pointwiseModule, fn, args });
  const xs = 4 * ci;
  const dys = 4 * co;
  const ci4 = ci & ~3;
  const co8 = co & ~7;
  for (let p = 0; p < m; p += block) {
    const count = Math.min(block, m - p);
    const x0 = xAt + p * xs;
    const dy0 = dyAt + p * dys;
    for (let j = 0; j < co8; j += chunk) {
      const n8 = Math.min(chunk, co8 - j) >> 3;
      for (let i = 0; i < ci4; i += 4)
        call("tile", dwAt + i * dys + 4 * j, x0 + 4 * i, dy0 + 4 * j, count, xs, dys, n8);
    }
    if (co8 < co)
      for (let r = 0; r < ci4; r++)
        call("dots", dwAt + r * dys + 4 * co8, x0 + 4 * r, dy0 + 4 * co8, count, xs, dys, co - co8);
    for (let r = ci4; r < ci; r++)
      call("dots", dwAt + r * dys, x0 + 4 * r, dy0, count, xs, dys, co);
  }
  return calls;
}

/** pointwiseCalls' calls for all of dW, run on this thread (tests and benchmarks). */
export function pointwiseFilterGrad(
  fns: PointwiseFns,
  dwAt: number,
  xAt: number,
  dyAt: number,
  m: number,
  ci: number,
  co: number,
  block = PIXEL_BLOCK,
  chunk = CO_CHUNK,
): void {
  for (const c of pointwiseCalls(dwAt, xAt, dyAt, m, ci, co, block, chunk))
    fns[c.fn as "tile" | "dots"](...(c.args as Parameters<TileFn>));
}

/** dW for float32 x [.., ci] and dy [.., co] on the wasm heap, as a new [1, 1, ci, co] tensor. */
export function pointwiseGradient(
  backend: tf.KernelBackend,
  fns: PointwiseFns,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  filterShape: [number, number, number, number],
  block = PIXEL_BLOCK,
  chunk = CO_CHUNK,
): tf.TensorInfo {
  const wasm = wasmHeap(backend);
  const [, , ci, co] = filterShape;
  const out = wasm.makeOutput(filterShape, "float32");
  const m = x.shape.reduce((a, b) => a * b, 1) / ci;
  zeroOut(backend, out);
  // On the kernel pool, each task sums a run of pixel blocks into a dW of its own, added up at
  // the end. (Cutting dW's rows instead kept each sum's order but made every task read all of
  // dy: half the speed of one thread, measured with npm run bench -- threads.)
  const blocks = Math.ceil(m / block);
  const tasks = Math.min(blocks, TASKS_PER_THREAD * poolThreads(backend));
  const copies = tasks > 1 ? wasm.makeOutput([tasks - 1, ci, co], "float32") : undefined;
  try {
    if (copies) zeroOut(backend, copies);
    const calls: Call[] = [];
    const bounds = [0];
    for (let t = 0; t < tasks; t++) {
      const p0 = block * Math.floor((t * blocks) / tasks);
      const p1 = Math.min(m, block * Math.floor(((t + 1) * blocks) / tasks));
      const dwAt =
        t === 0 ? addressOf(backend, out) : addressOf(backend, copies!) + 4 * ci * co * (t - 1);
      const xAt = addressOf(backend, x) + 4 * ci * p0;
      const dyAt = addressOf(backend, dy) + 4 * co * p0;
      calls.push(...pointwiseCalls(dwAt, xAt, dyAt, p1 - p0, ci, co, block, chunk));
      bounds.push(calls.length);
    }
    runJob(backend, { calls, grid: [{ kind: "calls", bounds }], kernel: "Conv2DBackpropFilter" });
    if (copies)
      simdFor(backend)!.sums(
        addressOf(backend, out),
        addressOf(backend, copies),
        ci * co,
        tasks - 1,
        0,
        4 * ci * co,
      );
  } finally {
    if (copies) backend.disposeData(copies.dataId);
  }
  return out;
}
