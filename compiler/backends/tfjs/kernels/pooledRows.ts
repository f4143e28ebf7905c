import type * as tf from "@tensorflow/tfjs";
import { poolThreads, runJob, TASKS_PER_THREAD, type Call, type Split } from "./pool.js";
import { rowsModule, simdFor, type RowsFn, type SimdFns, type SumsFn } from "./simd.js";

// simd.ts's rows and sums on the kernel pool (pool.ts), for kernels whose passes run over
// whole tensors (batch norm, reductions over leading axes). A pass that writes a row per row
// (acc's stride non-zero) is cut by rows; one that sums rows into one (acc's stride 0) by
// columns, at least a cache line of them per task, so every column still sums its rows in
// order: the same bits as one thread either way. runRows2Calls does the same for a kernel's
// list of rows2 calls (the depthwise input gradient).

/** Passes over fewer floats stay on the calling thread: waking the pool would cost more. */
const MIN_POOLED_FLOATS = 16384;

/** Columns a column share of a summing pass keeps at least (a 64-byte cache line). */
const MIN_COLUMNS = 16;

/** rows/sums with acc, a, b at args 0-2, then n and count; strides after (indices below). */
interface Layout {
  fn: "rows" | "sums";
  count: number;
  strides: readonly number[];
}
const ROWS: Layout = { fn: "rows", count: 4, strides: [5, 6, 7] };
const SUMS: Layout = { fn: "sums", count: 3, strides: [4, 5] };

function job(layout: Layout, args: number[], threads: number): { calls: Call[]; grid: Split[] } {
  const parts = TASKS_PER_THREAD * threads;
  const count = args[layout.count]!;
  if (args[layout.strides[0]!] !== 0) {
    // One output row per input row: shares of the rows are independent.
    const moves = layout.strides.map((s, i) => [i, s] as const);
    return {
      calls: [{ module: rowsModule, fn: layout.fn, args }],
      grid: [{ kind: "arg", parts: Math.min(parts, count), count: layout.count, moves }],
    };
  }
  // Every row sums into one: shares of the columns, each summing all rows.
  const n = args[layout.count - 1]!;
  const shares = Math.max(1, Math.min(parts, Math.floor(n / MIN_COLUMNS)));
  const calls: Call[] = [];
  for (let s = 0; s < shares; s++) {
    // Share bounds on multiples of 4 columns, so each keeps the vector loop.
    const from = 4 * Math.floor((s * (n >> 2)) / shares);
    const to = s === shares - 1 ? n : 4 * Math.floor(((s + 1) * (n >> 2)) / shares);
    const moved = [...args];
    for (let i = 0; i < layout.strides.length; i++) moved[i] = args[i]! + 4 * from;
    moved[layout.count - 1] = to - from;
    calls.push({ module: rowsModule, fn: layout.fn, args: moved });
  }
  return { calls, grid: [{ kind: "calls", bounds: calls.map((_, i) => i).concat(shares) }] };
}

/**
 * rows and sums as simd.ts has them, run on the kernel pool's threads where there is one, or
 * undefined where simd.ts's are not available (see simdFor).
 */
export function pooledSimdFor(backend: tf.KernelBackend): SimdFns | undefined {
  const simd = simdFor(backend);
  if (!simd) return undefined;
  const threads = poolThreads(backend);
  if (threads <= 1) return simd;
  const rows: RowsFn = (...args) =>
    args[3] * args[4] < MIN_POOLED_FLOATS
      ? simd.rows(...args)
      : runJob(backend, job(ROWS, args, threads));
  const sums: SumsFn = (...args) =>
    args[2] * args[3] < MIN_POOLED_FLOATS
      ? simd.sums(...args)
      : runJob(backend, job(SUMS, args, threads));
  return { rows, sums, rows2: simd.rows2 };
}

/** Multiply-adds below which a kernel's row calls stay on the calling thread. */
export const MIN_POOLED_WORK = 65536;

/** Arguments a call of simd.ts' rows2 takes. */
const ROWS2_ARGS = 12;

/**
 * Runs calls of simd.ts' rows2 (call i's arguments at args[12i .. 12i + 12), every row `n`
 * floats long) as one thread calling them in order would, but on the kernel pool where there
 * is one. `groups` are the bounds of runs of calls that write disjoint memory (the calls of one
 * group may add into the same floats: a group stays on one task, in order). Groups are merged
 * into runs, and where they are few each call's rows are also cut into column shares (whole
 * vectors, at least a cache line each): every float then gets its terms in one thread's order,
 * so the result is bit-identical to rows2 called in a loop.
 */
export function runRows2Calls(
  backend: tf.KernelBackend,
  args: readonly number[],
  groups: readonly number[],
  n: number,
  kernel: string,
): void {
  const simd = simdFor(backend)!;
  const calls = args.length / ROWS2_ARGS;
  if (calls === 0) return;
  const threads = poolThreads(backend);
  let work = 0;
  for (let i = 0; i < args.length; i += ROWS2_ARGS) work += args[i + 4]! * args[i + 8]!;
  if (threads <= 1 || work * n < MIN_POOLED_WORK) {
    for (let i = 0; i < args.length; i += ROWS2_ARGS)
      simd.rows2(
        ...(args.slice(i, i + ROWS2_ARGS) as [
          number,
          number,
          number,
          number,
          number,
          number,
          number,
          number,
          number,
          number,
          number,
          number,
        ]),
      );
    return;
  }
  const target = TASKS_PER_THREAD * threads;
  const g = groups.length - 1;
  // Each group its own run where there are at most two a task, else `target` runs of groups.
  const runs = g <= 2 * target ? g : target;
  const bounds = Array.from({ length: runs + 1 }, (_, i) => groups[Math.floor((i * g) / runs)]!);
  let shares = Math.ceil(target / runs);
  while (shares > 1 && (n % (4 * shares) !== 0 || n / shares < MIN_COLUMNS)) shares--;
  const list: Call[] = [];
  // A last argument, 4 (bytes a float), is the step the column split moves addresses by;
  // WebAssembly drops the arguments of a JS call beyond the function's.
  for (let i = 0; i < args.length; i += ROWS2_ARGS)
    list.push({ module: rowsModule, fn: "rows2", args: [...args.slice(i, i + ROWS2_ARGS), 4] });
  const grid: Split[] = [{ kind: "calls", bounds }];
  if (shares > 1)
    grid.push({
      kind: "arg",
      parts: shares,
      count: 3,
      moves: [
        [0, ROWS2_ARGS],
        [1, ROWS2_ARGS],
        [2, ROWS2_ARGS],
      ],
    });
  runJob(backend, { calls: list, grid, kernel });
}
