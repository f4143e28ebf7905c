import * as tf from "@tensorflow/tfjs";
import { expect } from "vitest";

// What the kernel tests share: random inputs from a seeded generator (compiler/util/random.ts),
// a computation's values on one backend, and the largest difference between two results of the
// same length.

export type Shape4 = [number, number, number, number];

export const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** `n` values drawn uniformly from [-1, 1) by `rand`. */
export function uniform(rand: () => number, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rand() * 2 - 1);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** The backends the kernel tests compare: tfjs' cpu reference and wasm with archc's kernels. */
export type BackendName = "cpu" | "wasm";

/** A convolution's padding as tfjs' ops take it. */
export type Pad = "same" | "valid" | number | tf.backend_util.ExplicitPadding;

/** `f`'s values computed on `backend`; the tensor is freed. */
export async function on(backend: BackendName, f: () => tf.Tensor): Promise<Float32Array> {
  await tf.setBackend(backend);
  const t = f();
  const out = (await t.data()) as Float32Array;
  t.dispose();
  return out;
}
