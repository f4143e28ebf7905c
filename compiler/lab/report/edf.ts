/**
 * The empirical distribution function of a sample (Radosavovic et al., "Designing Network Design
 * Spaces", 2020, eq. 1): F(e) = (1/n) * #{i : e_i <= e}. It is a step function, fully given by
 * the sorted sample: at the i-th smallest value (1-based) it reaches i/n.
 */
export interface Edf {
  readonly n: number;
  /** The sample in ascending order. */
  readonly sorted: readonly number[];
}

export function edf(sample: readonly number[]): Edf {
  return { n: sample.length, sorted: [...sample].sort((a, b) => a - b) };
}

/** F(x): the fraction of the sample at or below x. */
export function edfAt(f: Edf, x: number): number {
  let k = 0;
  while (k < f.n && f.sorted[k]! <= x) k++;
  return f.n ? k / f.n : 0;
}

/** The q-quantile (0 <= q <= 1) by linear interpolation between order statistics (R type 7). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (!sorted.length) return NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}
