import type * as tf from "@tensorflow/tfjs";
import {
  addTo,
  boundTo,
  relaxedMadd,
  relaxedSimd,
  F32,
  functionBody,
  I32,
  i32Params,
  localGet,
  localSet,
  memoryImport,
  op,
  repeat,
  section,
  str,
  uleb,
  V128,
  WASM_HEADER,
} from "./simd.js";
import type { Call, Split } from "./pool.js";

// The one loop nest behind archc's grouped convolution (groupedConv.ts): forward, input
// gradient and filter gradient are all register tiles of outer products,
//
//   out[r][c] += sum over a walk of  A[r] * B[c]      (r < R rows, c < W columns)
//
// with R = 4 or 1 and W = 8 or 4 (f32x4 vectors) or 1 (scalar f32). In the forward pass
// the rows are 4 output pixels, A their input values (a splat per row), B a kernel row
// and the walk the taps and the group's input channels; in the filter gradient the rows
// are 4 input channels, B a dy row and the walk the pixels. The accumulators stay in
// registers over the whole walk; memory sees one load and one store of the tile.
//
//   tile(O, A, B,
//        four outer levels, each (count, oStep, aStep, bStep): the tiles visited,
//        three walk levels, each (count, aStep, bStep): the reduction,
//        AO: bytes from one row's A to the next, OS: bytes from one row's out to the next)
//
// All addresses and steps are in bytes on the wasm backend's memory (plain or shared);
// like simd.ts, the module is assembled from the bytes spelled out below, so nothing is
// compiled at build time. A level with count 1 and zero steps is a level not used.

export type TileFn = (...args: number[]) => void;

/** The tile shapes: rows (4 or 1) by columns (8, 4: vectors; 1: scalar). */
export const TILE_ROWS = [4, 1] as const;
export const TILE_COLS = [8, 4, 1] as const;
export type TileRows = (typeof TILE_ROWS)[number];
export type TileCols = (typeof TILE_COLS)[number];
export const tileName = (r: TileRows, c: TileCols): string => `t${r}x${c}`;

/** One outer level: how many tiles, and how far each of O, A, B moves to the next. */
export interface OuterLevel {
  count: number;
  o: number;
  a: number;
  b: number;
}
/** One walk level: how many steps, and how far A and B move each step. */
export interface WalkLevel {
  count: number;
  a: number;
  b: number;
}
export const OUTER_LEVELS = 4;
export const WALK_LEVELS = 3;
export const unusedOuter: OuterLevel = { count: 1, o: 0, a: 0, b: 0 };
export const unusedWalk: WalkLevel = { count: 1, a: 0, b: 0 };

const PARAMS = 3 + 4 * OUTER_LEVELS + 3 * WALK_LEVELS + 2;
const P_O = 0,
  P_A = 1,
  P_B = 2;
const outerParam = (level: number, field: 0 | 1 | 2 | 3) => 3 + 4 * level + field;
const walkParam = (level: number, field: 0 | 1 | 2) => 3 + 4 * OUTER_LEVELS + 3 * level + field;
const P_AO = PARAMS - 2,
  P_OS = PARAMS - 1;

// SIMD sub-opcodes (LEB128 after 0xfd): v128.load 0, v128.load32_splat 9, v128.store 11,
// f32x4.add 228, f32x4.mul 230. memarg: alignment exponent, then the byte offset.
const v128load = (offset: number) => [op.simd, 0x00, 0x00, ...uleb(offset)];
const v128store = (offset: number) => [op.simd, 0x0b, 0x00, ...uleb(offset)];
const load32splat = [op.simd, 0x09, 0x02, 0x00];
const f32x4add = [op.simd, 0xe4, 0x01];
const f32x4mul = [op.simd, 0xe6, 0x01];
const f32load = (offset: number) => [op.f32load, 0x02, ...uleb(offset)];
const f32store = (offset: number) => [op.f32store, 0x02, ...uleb(offset)];
const i32mul = 0x6c;

const get = localGet;
const set = localSet;

/** One tile routine; `fma`: acc = relaxed_madd(splat, b, acc) instead of acc + splat * b. */
function tileBody(rows: TileRows, cols: TileCols, fma: boolean): number[] {
  const scalar = cols === 1;
  const vectors = scalar ? 1 : cols / 4;
  // i32 locals after the parameters.
  let next = PARAMS;
  const alloc = () => next++;
  const O = Array.from({ length: OUTER_LEVELS + 1 }, alloc);
  const A = Array.from({ length: OUTER_LEVELS + 1 }, alloc);
  const B = Array.from({ length: OUTER_LEVELS + 1 }, alloc);
  const C = Array.from({ length: OUTER_LEVELS }, alloc);
  const WA = Array.from({ length: WALK_LEVELS }, alloc);
  const WB = Array.from({ length: WALK_LEVELS }, alloc);
  const WC = Array.from({ length: WALK_LEVELS }, alloc);
  const RA = Array.from({ length: rows }, alloc); // row r's A address in the innermost walk
  const ROW = alloc(); // an out row while loading or storing the tile
  const i32Count = next - PARAMS;
  // Accumulators, B's columns, and a splat: v128 (or f32 for a scalar tile).
  const ACC = Array.from({ length: rows }, () => Array.from({ length: vectors }, alloc));
  const BV = Array.from({ length: vectors }, alloc);
  const S = alloc();
  const valueCount = next - PARAMS - i32Count;

  const load = (offset: number) => (scalar ? f32load(offset) : v128load(offset));
  const store = (offset: number) => (scalar ? f32store(offset) : v128store(offset));
  // Visits each row of the tile in out: ROW = O + r * OS.
  const eachRow = (f: (r: number) => number[]) => [
    ...get(O[OUTER_LEVELS]!),
    ...set(ROW),
    ...Array.from({ length: rows }, (_, r) => [
      ...f(r),
      ...(r + 1 < rows ? addTo(ROW, get(P_OS)) : []),
    ]).flat(),
  ];
  const loadTile = eachRow((r) =>
    ACC[r]!.flatMap((acc, v) => [...get(ROW), ...load(16 * v), ...set(acc)]),
  );
  const storeTile = eachRow((r) =>
    ACC[r]!.flatMap((acc, v) => [...get(ROW), ...get(acc), ...store(16 * v)]),
  );
  const innermost = WALK_LEVELS - 1;
  const step = [
    ...BV.flatMap((bv, v) => [...get(WB[innermost]!), ...load(16 * v), ...set(bv)]),
    ...Array.from({ length: rows }, (_, r) => [
      ...get(RA[r]!),
      ...(scalar ? f32load(0) : load32splat),
      ...set(S),
      ...ACC[r]!.flatMap((acc, v) =>
        !scalar && fma
          ? [...get(S), ...get(BV[v]!), ...get(acc), ...relaxedMadd, ...set(acc)]
          : [
              ...get(acc),
              ...get(S),
              ...get(BV[v]!),
              ...(scalar ? [op.f32mul, op.f32add] : [...f32x4mul, ...f32x4add]),
              ...set(acc),
            ],
      ),
      ...addTo(RA[r]!, get(walkParam(innermost, 1))),
    ]).flat(),
    ...addTo(WB[innermost]!, get(walkParam(innermost, 2))),
  ];
  // The walk, level by level; the innermost keeps one A address per row.
  const walk = (level: number): number[] => {
    const [from, fromB] =
      level === 0 ? [A[OUTER_LEVELS]!, B[OUTER_LEVELS]!] : [WA[level - 1]!, WB[level - 1]!];
    const enter = [...get(from), ...set(WA[level]!), ...get(fromB), ...set(WB[level]!)];
    const rowsStart =
      level === innermost
        ? RA.flatMap((ra, r) => [
            ...get(WA[level]!),
            ...(r === 0 ? [] : [...get(P_AO), op.i32const, r, i32mul, op.i32add]),
            ...set(ra),
          ])
        : [];
    const body =
      level === innermost
        ? step
        : [
            ...walk(level + 1),
            ...addTo(WA[level]!, get(walkParam(level, 1))),
            ...addTo(WB[level]!, get(walkParam(level, 2))),
          ];
    return [
      ...enter,
      ...rowsStart,
      ...get(walkParam(level, 0)),
      ...set(WC[level]!),
      ...repeat(WC[level]!, body),
    ];
  };
  const outer = (level: number): number[] => {
    if (level === OUTER_LEVELS) return [...loadTile, ...walk(0), ...storeTile];
    const enter = [O, A, B].flatMap((p) => [...get(p[level]!), ...set(p[level + 1]!)]);
    return [
      ...get(outerParam(level, 0)),
      ...set(C[level]!),
      ...repeat(C[level]!, [
        ...enter,
        ...outer(level + 1),
        ...addTo(O[level]!, get(outerParam(level, 1))),
        ...addTo(A[level]!, get(outerParam(level, 2))),
        ...addTo(B[level]!, get(outerParam(level, 3))),
      ]),
    ];
  };
  const code = [
    ...get(P_O),
    ...set(O[0]!),
    ...get(P_A),
    ...set(A[0]!),
    ...get(P_B),
    ...set(B[0]!),
    ...outer(0),
    op.end,
  ];
  return functionBody(
    [...uleb(2), ...uleb(i32Count), I32, ...uleb(valueCount), scalar ? F32 : V128],
    code,
  );
}

const SHAPES = TILE_ROWS.flatMap((r) => TILE_COLS.map((c) => [r, c] as const));

/**
 * The module's bytes; `shared` matches the threaded build's shared memory; `fma` uses relaxed
 * SIMD's fused multiply-add (simd.ts' relaxedSimd: where this engine has it).
 */
export function groupedModule(shared: boolean, fma = relaxedSimd()): Uint8Array {
  return Uint8Array.from([
    ...WASM_HEADER,
    ...section(1, [1, ...i32Params(PARAMS)]),
    ...memoryImport(shared),
    ...section(3, [SHAPES.length, ...SHAPES.map(() => 0)]),
    ...section(7, [
      SHAPES.length,
      ...SHAPES.flatMap(([r, c], i) => [...str(tileName(r, c)), 0x00, i]),
    ]),
    ...section(10, [SHAPES.length, ...SHAPES.flatMap(([r, c]) => tileBody(r, c, fma))]),
  ]);
}

/** The tiles by rows and columns. */
export type GroupedFns = Readonly<Record<string, TileFn>>;

/**
 * The tile routines bound to this wasm backend's memory, or undefined where that cannot be
 * had (no SIMD in this engine, another backend): the grouped convolution is then not offered.
 */
export function groupedFor(backend: tf.KernelBackend): GroupedFns | undefined {
  return boundTo(backend, groupedModule, (e) =>
    Object.fromEntries(SHAPES.map(([r, c]) => [tileName(r, c), e[tileName(r, c)] as TileFn])),
  );
}

/**
 * One call of a tile routine with its levels spelt out (missing levels are unused), for
 * pool.ts; undefined where a level is empty (the tile has nothing to do).
 */
export function tileCall(
  rows: TileRows,
  cols: TileCols,
  at: { o: number; a: number; b: number },
  outer: readonly OuterLevel[],
  walk: readonly WalkLevel[],
  rowA: number,
  rowO: number,
): Call | undefined {
  for (const lv of outer) if (lv.count <= 0) return undefined;
  for (const lv of walk) if (lv.count <= 0) return undefined;
  const args: number[] = [at.o, at.a, at.b];
  for (let l = 0; l < OUTER_LEVELS; l++) {
    const lv = outer[l] ?? unusedOuter;
    args.push(lv.count, lv.o, lv.a, lv.b);
  }
  // Fewer walk levels than the routine has fill the outer ones, so the innermost loop (the
  // one that keeps its row addresses in registers) is always the caller's innermost.
  for (let l = 0; l < WALK_LEVELS; l++) {
    const lv = walk[l - (WALK_LEVELS - walk.length)] ?? unusedWalk;
    args.push(lv.count, lv.a, lv.b);
  }
  args.push(rowA, rowO);
  return { module: groupedModule, fn: tileName(rows, cols), args };
}

/**
 * The split of outer level `level` into `parts` shares: each share's tiles start `start`
 * steps on in O, A and B. Tiles at different indices of a level with a non-zero O step write
 * different outputs, and each keeps its whole walk, so the shares are independent tasks.
 */
export function outerSplit(level: number, parts: number): Split {
  return {
    kind: "arg",
    parts,
    count: outerParam(level, 0),
    moves: [
      [P_O, outerParam(level, 1)],
      [P_A, outerParam(level, 2)],
      [P_B, outerParam(level, 3)],
    ],
  };
}

/** Calls one tile routine with its levels spelt out (missing levels are unused). */
export function runTile(
  fns: GroupedFns,
  rows: TileRows,
  cols: TileCols,
  at: { o: number; a: number; b: number },
  outer: readonly OuterLevel[],
  walk: readonly WalkLevel[],
  rowA: number,
  rowO: number,
): void {
  const call = tileCall(rows, cols, at, outer, walk, rowA, rowO);
  if (call) fns[call.fn]!(...call.args);
}
