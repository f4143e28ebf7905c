import type * as tf from "@tensorflow/tfjs";
import {
  addTo,
  boundTo,
  localGet,
  localSet,
  memoryImport,
  op,
  repeat,
  upTo,
  section,
  str,
  uleb,
  functionBody,
  i32Params,
  I32,
  F32,
  V128,
  WASM_HEADER,
} from "./simd.js";

// The max-pool gradient as one WebAssembly SIMD routine on the wasm backend's own
// memory (plain or shared), assembled from the bytes below like simd.ts's rows/sums.
// The JS loop it replaces spent ~8 ns per (output element x tap) on `if (v > best)`,
// a branch real data makes unpredictable; here the comparison is a lane mask:
//
//   pool(x, dy, off, n, count, xStep, rows, cols, rowStride, colStride):
//     repeat count times (windows along an output row, dy rows contiguous):
//       for each group of 4 channels (f32x4), then each remaining channel (scalar):
//         best = -Infinity, at = -1
//         for r < rows, c < cols (row-major):  p = x + r*rowStride + c*colStride (+ channel)
//           v = load(p); m = f32x4.gt(v, best)   strict: the first maximum stays, NaN never wins
//           best = f32x4.pmax(best, v)           (= best < v ? v : best, one maxps; same rule)
//           at = bitselect(p, at, m)             (p's lanes: the byte addresses p + 0, 4, 8, 12)
//         for each lane with at != -1:  dx[at + off] += dy[channel]
//       x += xStep; dy += 4n
//
// `at` holds the byte address of the window's maximum in x, so the scatter needs no
// index arithmetic: dx's element is at + off, off = dx - x. Addresses and strides are
// in bytes; the caller clips each window to the input (padding is never read).

/** pool(...) as above; byte addresses and strides. */
export type PoolGradFn = (
  x: number,
  dy: number,
  off: number,
  n: number,
  count: number,
  xStep: number,
  rows: number,
  cols: number,
  rowStride: number,
  colStride: number,
) => void;

// SIMD sub-opcodes (LEB128 after 0xfd): v128.load 0, v128.const 12, i32x4.splat 17,
// f32x4.splat 19, i32x4.extract_lane 27, f32x4.gt 68, v128.bitselect 82, i32x4.add 174,
// f32x4.pmax 235. pmax rather than a second bitselect for `best` halved the routine's
// time (the best chain is then one instruction per tap).
const v128load = [op.simd, 0x00, 0x00, 0x00]; // memarg: align 2^0, offset 0
const i32x4splat = [op.simd, 0x11];
const f32x4splat = [op.simd, 0x13];
const i32x4extractLane = (lane: number) => [op.simd, 0x1b, lane];
const f32x4gt = [op.simd, 0x44];
const bitselect = [op.simd, 0x52];
const i32x4add = [op.simd, 0xae, 0x01];
const f32x4pmax = [op.simd, 0xeb, 0x01];
/** v128.const i32x4 (0, 4, 8, 12): the byte offsets of a vector's lanes. */
const laneOffsets = [op.simd, 0x0c, ...[0, 4, 8, 12].flatMap((v) => [v, 0, 0, 0])];
const f32load = (offset: number) => [op.f32load, 0x02, ...uleb(offset)]; // align 2^2
const f32store = [op.f32store, 0x02, 0x00];
const minusInfinity = [op.f32const, 0x00, 0x00, 0x80, 0xff]; // 0xff800000, little-endian
const minusOne = [op.i32const, 0x7f];

// Parameters, then locals (9 i32, 2 f32, 4 v128).
const X = 0,
  DY = 1,
  OFF = 2,
  N = 3,
  COUNT = 4,
  XSTEP = 5,
  ROWS = 6,
  COLS = 7,
  RS = 8,
  CS = 9;
const I = 10,
  NV = 11,
  NB = 12,
  RP = 13,
  CP = 14,
  R = 15,
  C = 16,
  A = 17,
  MS = 18;
const BS = 19,
  VS = 20;
const BEST = 21,
  AT = 22,
  V = 23,
  M = 24;

const get = localGet;
const set = localSet;
const add = addTo;

/** for (; i < end; i += step) body */
const upToEnd = (end: number, step: number, body: number[]) => upTo(I, end, step, body);

/** Walks the window's taps in row-major order from rp = x + i, running `tap` at cp. */
const taps = (tap: number[]) => [
  ...get(X),
  ...get(I),
  op.i32add,
  ...set(RP),
  ...get(ROWS),
  ...set(R),
  ...repeat(R, [
    ...get(RP),
    ...set(CP),
    ...get(COLS),
    ...set(C),
    ...repeat(C, [...tap, ...add(CP, get(CS))]),
    ...add(RP, get(RS)),
  ]),
];

/** if (a != -1) dx[a + off] += dy[i + byteOffset], with a in local A. */
const scatter = (byteOffset: number) => [
  ...get(A),
  ...minusOne,
  op.i32ne,
  op.if,
  0x40,
  ...get(A),
  ...get(OFF),
  op.i32add,
  ...get(A),
  ...get(OFF),
  op.i32add,
  ...f32load(0),
  ...get(DY),
  ...get(I),
  op.i32add,
  ...f32load(byteOffset),
  op.f32add,
  ...f32store,
  op.end,
];

const vectorPart = upToEnd(NV, 16, [
  ...minusInfinity,
  ...f32x4splat,
  ...set(BEST),
  ...minusOne,
  ...i32x4splat,
  ...set(AT),
  ...taps([
    ...get(CP),
    ...v128load,
    ...set(V),
    ...get(V),
    ...get(BEST),
    ...f32x4gt,
    ...set(M),
    ...get(BEST),
    ...get(V),
    ...f32x4pmax,
    ...set(BEST),
    ...get(CP),
    ...i32x4splat,
    ...laneOffsets,
    ...i32x4add,
    ...get(AT),
    ...get(M),
    ...bitselect,
    ...set(AT),
  ]),
  ...[0, 1, 2, 3].flatMap((lane) => [
    ...get(AT),
    ...i32x4extractLane(lane),
    ...set(A),
    ...scatter(4 * lane),
  ]),
]);

const scalarPart = upToEnd(NB, 4, [
  ...minusInfinity,
  ...set(BS),
  ...minusOne,
  ...set(A),
  ...taps([
    ...get(CP),
    ...f32load(0),
    ...set(VS),
    ...get(VS),
    ...get(BS),
    op.f32gt,
    ...set(MS),
    ...get(VS),
    ...get(BS),
    ...get(MS),
    op.select,
    ...set(BS),
    ...get(CP),
    ...get(A),
    ...get(MS),
    op.select,
    ...set(A),
  ]),
  ...scatter(0),
]);

function body(): number[] {
  const code = [
    // nv = (n & ~3) << 2; nb = n << 2 (bytes of the vector part, of the whole row)
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
    ...repeat(COUNT, [
      op.i32const,
      0,
      ...set(I),
      ...vectorPart,
      ...scalarPart,
      ...add(X, get(XSTEP)),
      ...add(DY, get(NB)),
    ]),
    op.end,
  ];
  return functionBody([...uleb(3), 9, I32, 2, F32, 4, V128], code);
}

/** The module's bytes; `shared` matches the threaded build's shared memory. */
export function poolGradModule(shared: boolean): Uint8Array {
  return Uint8Array.from([
    ...WASM_HEADER,
    ...section(1, [1, ...i32Params(10)]),
    ...memoryImport(shared),
    ...section(3, [1, 0]),
    ...section(7, [1, ...str("pool"), 0x00, 0]),
    ...section(10, [1, ...body()]),
  ]);
}

/**
 * `pool` bound to this wasm backend's memory, or undefined where that cannot be had
 * (no SIMD in this engine, another backend): the kernel then keeps its JS loop.
 */
export function poolGradFor(backend: tf.KernelBackend): PoolGradFn | undefined {
  return boundTo(backend, poolGradModule, (e) => e["pool"] as PoolGradFn);
}
