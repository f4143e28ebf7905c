import {
  addTo,
  functionBody,
  i32Params,
  I32,
  localGet,
  localSet,
  memoryImport,
  op,
  repeat,
  section,
  str,
  uleb,
  upTo,
  V128,
  WASM_HEADER,
} from "./simd.js";

// The three transforms of Winograd's F(2x2, 3x3) (winograd.ts), hand-assembled like simd.ts'
// routines, SIMD over 4 channels (NHWC keeps a pixel's channels contiguous). With B, G, A the
// usual F(2, 3) matrices, a 2x2 output tile y of a 3x3 filter g over a 4x4 input tile d is
// y = A^T [(G g G^T) .* (B^T d B)] A; summed over input channels, the elementwise product is 16
// independent GEMMs, which XNNPACK runs (2.25x fewer multiply-adds than the direct conv).
//
//   filter(g, table, nb):   U_k = (G g G^T)_k for each of the 16 k, over nb bytes of [ci, co]
//     (g is [3, 3, ci, co]: tap planes nb bytes apart; table holds the 16 addresses of U_k)
//   input(table, off, x, r0..r3, c0..c3, mask, tiles, step, cb):  V_k = (B^T d B)_k
//     the tile's 4 input rows at x + r_i, its columns at + c_j, cb bytes of channels a pixel;
//     `tiles` tiles side by side (step bytes apart), written at table[k] + off, cb bytes apart
//   output(table, off, y, r0, r1, c0, c1, mask, tiles, step, cb, bias, relu):  y = A^T m A
//     (+ bias[c], then max(0, .) where relu), read at table[k] + off, written at y + r_a + c_b
//
// Padding is never materialised: the caller clamps every row and column address inside the
// tensor and says in `mask` which are real (input: bits 0-3 rows, 4-7 columns; output: bits
// 0-1 rows, 2-3 columns); the masked variants (input_m, output_m) zero the loads of padding
// (v128.and with an all-ones or all-zero vector) and skip the stores outside the output, the
// plain ones take every tap and store every pixel (the interior, most tiles).

/** Opcodes and SIMD sub-opcodes not in simd.ts' `op`. */
const I32_LOAD = 0x28;
const I32_EQ = 0x46;
const I32_SHR_U = 0x76;
const simd = (code: number): number[] => [op.simd, ...uleb(code)];
const v128load = [...simd(0x00), 0x00, 0x00];
const v128store = [...simd(0x0b), 0x00, 0x00];
const v128and = simd(0x4e);
const i32x4splat = simd(0x11);
const f32x4add = simd(0xe4);
const f32x4sub = simd(0xe5);
const f32x4mul = simd(0xe6);
const f32x4max = simd(0xe9);
const f32x4splat = simd(0x13);
const v128zero = [...simd(0x0c), ...Array<number>(16).fill(0)];
const f32const = (v: number): number[] => [
  op.f32const,
  ...new Uint8Array(Float32Array.of(v).buffer),
];

/** a + b + ... of i32 locals (at least one). */
const sum = (...ls: number[]): number[] => [
  ...localGet(ls[0]!),
  ...ls.slice(1).flatMap((l) => [...localGet(l), op.i32add]),
];
/** The 16 addresses of a table at `table` (+ `off`) into locals first.. first + 15. */
const loadTable = (table: number, off: number | undefined, first: number): number[] =>
  Array.from({ length: 16 }, (_, k) => [
    ...localGet(table),
    I32_LOAD,
    0x02,
    ...uleb(4 * k),
    ...(off === undefined ? [] : [...localGet(off), op.i32add]),
    ...localSet(first + k),
  ]).flat();
/** A v128 local set to all ones where bit `bit` of the i32 local `mask` is set, else zeros. */
const maskVector = (mask: number, bit: number, to: number): number[] => [
  op.i32const,
  0,
  ...localGet(mask),
  op.i32const,
  bit,
  I32_SHR_U,
  op.i32const,
  1,
  op.i32and,
  op.i32sub,
  ...i32x4splat,
  ...localSet(to),
];
/** Local declarations: groups of [count, type]. */
const locals = (...groups: [number, number][]): number[] => [
  ...uleb(groups.length),
  ...groups.flatMap(([n, t]) => [...uleb(n), t]),
];

function filterBody(): number[] {
  const [G, TABLE, NB] = [0, 1, 2];
  const U = 3; // 16 i32: the U_k addresses
  const CC = 19;
  const GV = 20; // 9 v128: the taps of 4 (ci, co) pairs
  const R = 29; // 12 v128: G g, rows a = 0..3 by columns j = 0..2
  const HALF = 41;
  const tap = (i: number, j: number) => GV + i * 3 + j;
  const r = (a: number, j: number) => R + a * 3 + j;
  const code: number[] = [
    ...loadTable(TABLE, undefined, U),
    ...f32const(0.5),
    ...f32x4splat,
    ...localSet(HALF),
    op.i32const,
    0,
    ...localSet(CC),
    ...upTo(CC, NB, 16, [
      // tap (i, j) of this vector: g + (3i + j) * nb + cc
      ...[0, 1, 2].flatMap((i) =>
        [0, 1, 2].flatMap((j) => [
          ...localGet(G),
          ...localGet(NB),
          op.i32const,
          ...uleb(i * 3 + j),
          0x6c, // i32.mul
          op.i32add,
          ...localGet(CC),
          op.i32add,
          ...v128load,
          ...localSet(tap(i, j)),
        ]),
      ),
      // G g: row 0 = g0, row 1 = (g0 + g1 + g2) / 2, row 2 = (g0 - g1 + g2) / 2, row 3 = g2
      ...[0, 1, 2].flatMap((j) => [
        ...localGet(tap(0, j)),
        ...localSet(r(0, j)),
        ...localGet(tap(0, j)),
        ...localGet(tap(2, j)),
        ...f32x4add,
        ...localGet(tap(1, j)),
        ...f32x4add,
        ...localGet(HALF),
        ...f32x4mul,
        ...localSet(r(1, j)),
        ...localGet(tap(0, j)),
        ...localGet(tap(2, j)),
        ...f32x4add,
        ...localGet(tap(1, j)),
        ...f32x4sub,
        ...localGet(HALF),
        ...f32x4mul,
        ...localSet(r(2, j)),
        ...localGet(tap(2, j)),
        ...localSet(r(3, j)),
      ]),
      // (G g) G^T, the same on each row's three columns, stored to U_{4a + b} + cc
      ...[0, 1, 2, 3].flatMap((a) => {
        const store = (b: number, value: number[]) => [
          ...sum(U + 4 * a + b, CC),
          ...value,
          ...v128store,
        ];
        return [
          ...store(0, localGet(r(a, 0))),
          ...store(1, [
            ...localGet(r(a, 0)),
            ...localGet(r(a, 2)),
            ...f32x4add,
            ...localGet(r(a, 1)),
            ...f32x4add,
            ...localGet(HALF),
            ...f32x4mul,
          ]),
          ...store(2, [
            ...localGet(r(a, 0)),
            ...localGet(r(a, 2)),
            ...f32x4add,
            ...localGet(r(a, 1)),
            ...f32x4sub,
            ...localGet(HALF),
            ...f32x4mul,
          ]),
          ...store(3, localGet(r(a, 2))),
        ];
      }),
    ]),
    op.end,
  ];
  return functionBody(locals([17, I32], [25, V128]), code);
}

export const INPUT_ARGS = 15;

function inputBody(masked: boolean): number[] {
  const [TABLE, OFF, X] = [0, 1, 2];
  const ROW = [3, 4, 5, 6];
  const COL = [7, 8, 9, 10];
  const [MASK, TILES, STEP, CB] = [11, 12, 13, 14];
  const V = 15; // 16 i32
  const CC = 31;
  const RM = 32; // 4 v128 row masks
  const CM = 36; // 4 v128 column masks
  const T = 40; // 16 v128: B^T over the columns of each row, t(i, j)
  const D = 56; // 4 v128: one row's loads
  const t = (i: number, j: number) => T + i * 4 + j;
  const rowOf = (i: number): number[] => {
    const load = (j: number) => [
      ...sum(X, ROW[i]!, COL[j]!, CC),
      ...v128load,
      ...(masked ? [...localGet(CM + j), ...v128and] : []),
      ...localSet(D + j),
    ];
    const set = (j: number, value: number[]) => [
      ...value,
      ...(masked ? [...localGet(RM + i), ...v128and] : []),
      ...localSet(t(i, j)),
    ];
    const d = (j: number) => localGet(D + j);
    return [
      ...[0, 1, 2, 3].flatMap(load),
      ...set(0, [...d(0), ...d(2), ...f32x4sub]),
      ...set(1, [...d(1), ...d(2), ...f32x4add]),
      ...set(2, [...d(2), ...d(1), ...f32x4sub]),
      ...set(3, [...d(1), ...d(3), ...f32x4sub]),
    ];
  };
  const store = (k: number, value: number[]) => [...sum(V + k, CC), ...value, ...v128store];
  const columns = [0, 1, 2, 3].flatMap((j) => [
    ...store(j, [...localGet(t(0, j)), ...localGet(t(2, j)), ...f32x4sub]),
    ...store(4 + j, [...localGet(t(1, j)), ...localGet(t(2, j)), ...f32x4add]),
    ...store(8 + j, [...localGet(t(2, j)), ...localGet(t(1, j)), ...f32x4sub]),
    ...store(12 + j, [...localGet(t(1, j)), ...localGet(t(3, j)), ...f32x4sub]),
  ]);
  const code: number[] = [
    ...loadTable(TABLE, OFF, V),
    ...(masked
      ? [0, 1, 2, 3].flatMap((i) => [
          ...maskVector(MASK, i, RM + i),
          ...maskVector(MASK, 4 + i, CM + i),
        ])
      : []),
    ...repeat(TILES, [
      op.i32const,
      0,
      ...localSet(CC),
      ...upTo(CC, CB, 16, [...[0, 1, 2, 3].flatMap(rowOf), ...columns]),
      ...COL.flatMap((c) => addTo(c, localGet(STEP))),
      ...Array.from({ length: 16 }, (_, k) => addTo(V + k, localGet(CB))).flat(),
    ]),
    op.end,
  ];
  return functionBody(locals([17, I32], [28, V128]), code);
}

export const OUTPUT_ARGS = 13;

function outputBody(masked: boolean): number[] {
  const [TABLE, OFF, Y] = [0, 1, 2];
  const ROW = [3, 4];
  const COL = [5, 6];
  const [MASK, TILES, STEP, CB, BIAS, RELU] = [7, 8, 9, 10, 11, 12];
  const M = 13; // 16 i32
  const CC = 29;
  const S = 30; // 8 v128: A^T m, rows a = 0, 1 by columns j
  const L = 38; // 4 v128: one column's loads
  const OUT = 42; // v128
  const s = (a: number, j: number) => S + a * 4 + j;
  const column = (j: number): number[] => [
    ...[0, 1, 2, 3].flatMap((i) => [...sum(M + 4 * i + j, CC), ...v128load, ...localSet(L + i)]),
    ...localGet(L),
    ...localGet(L + 1),
    ...f32x4add,
    ...localGet(L + 2),
    ...f32x4add,
    ...localSet(s(0, j)),
    ...localGet(L + 1),
    ...localGet(L + 2),
    ...f32x4sub,
    ...localGet(L + 3),
    ...f32x4sub,
    ...localSet(s(1, j)),
  ];
  const pixel = (a: number, b: number): number[] => {
    const value =
      b === 0
        ? [
            ...localGet(s(a, 0)),
            ...localGet(s(a, 1)),
            ...f32x4add,
            ...localGet(s(a, 2)),
            ...f32x4add,
          ]
        : [
            ...localGet(s(a, 1)),
            ...localGet(s(a, 2)),
            ...f32x4sub,
            ...localGet(s(a, 3)),
            ...f32x4sub,
          ];
    const write = [
      ...value,
      ...localSet(OUT),
      ...localGet(BIAS),
      op.if,
      0x40,
      ...localGet(OUT),
      ...sum(BIAS, CC),
      ...v128load,
      ...f32x4add,
      ...localSet(OUT),
      op.end,
      ...localGet(RELU),
      op.if,
      0x40,
      ...localGet(OUT),
      ...v128zero,
      ...f32x4max,
      ...localSet(OUT),
      op.end,
      ...sum(Y, ROW[a]!, COL[b]!, CC),
      ...localGet(OUT),
      ...v128store,
    ];
    if (!masked) return write;
    const bits = (1 << a) | (4 << b);
    return [
      ...localGet(MASK),
      op.i32const,
      bits,
      op.i32and,
      op.i32const,
      bits,
      I32_EQ,
      op.if,
      0x40,
      ...write,
      op.end,
    ];
  };
  const code: number[] = [
    ...loadTable(TABLE, OFF, M),
    ...repeat(TILES, [
      op.i32const,
      0,
      ...localSet(CC),
      ...upTo(CC, CB, 16, [
        ...[0, 1, 2, 3].flatMap(column),
        ...pixel(0, 0),
        ...pixel(0, 1),
        ...pixel(1, 0),
        ...pixel(1, 1),
      ]),
      ...COL.flatMap((c) => addTo(c, localGet(STEP))),
      ...Array.from({ length: 16 }, (_, k) => addTo(M + k, localGet(CB))).flat(),
    ]),
    op.end,
  ];
  return functionBody(locals([17, I32], [13, V128]), code);
}

/** The module's bytes: filter, input, input_m, output, output_m on the backend's memory. */
export function winogradModule(shared: boolean): Uint8Array {
  const names = ["filter", "input", "input_m", "output", "output_m"];
  const types = [0, 1, 1, 2, 2];
  return Uint8Array.from([
    ...WASM_HEADER,
    ...section(1, [3, ...i32Params(3), ...i32Params(INPUT_ARGS), ...i32Params(OUTPUT_ARGS)]),
    ...memoryImport(shared),
    ...section(3, [names.length, ...types]),
    ...section(7, [names.length, ...names.flatMap((n, i) => [...str(n), 0x00, i])]),
    ...section(10, [
      names.length,
      ...filterBody(),
      ...inputBody(false),
      ...inputBody(true),
      ...outputBody(false),
      ...outputBody(true),
    ]),
  ]);
}
