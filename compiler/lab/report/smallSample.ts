/**
 * Hesterberg's expanded percentile interval ("What Teachers Should Know About the Bootstrap",
 * The American Statistician 69(4), 2015, §5): a percentile bootstrap interval is too narrow for
 * small samples (it acts as if sd/sqrt(n) with divisor n and z in place of t), so the tail
 * fraction is taken smaller, at alpha' with Phi^-1(alpha'/2) = -sqrt(n / (n - 1)) t_{alpha/2, n-1}.
 * For 95% that is 2.5% at n = infinity, 0.86% at n = 10 and about 0.0005% at n = 3, where
 * the interval becomes the whole range of the resamples.
 */
export function expandedTail(n: number): number {
  if (n < 2) return 0;
  return 1 - normalCdf(expandedZ(n));
}

/** The half-width of that interval in standard errors: sqrt(n / (n - 1)) t_{0.975, n-1}. */
export function expandedZ(n: number): number {
  return n < 2 ? Infinity : Math.sqrt(n / (n - 1)) * t975(n - 1);
}

/** Student's t 97.5% quantiles for 1-30 degrees of freedom (any statistics table). */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145,
  2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048,
  2.045, 2.042,
];

/** Beyond 30 degrees of freedom, the Cornish-Fisher expansion's first two terms (error < 1e-4). */
function t975(df: number): number {
  if (df <= 30) return T975[df - 1]!;
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

/** The standard normal distribution function (Abramowitz & Stegun 7.1.26, error < 1.5e-7). */
export function normalCdf(x: number): number {
  const t = 1 / (1 + (0.3275911 * Math.abs(x)) / Math.SQRT2);
  const poly =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-(x * x) / 2);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}
