import { deriveSeed, Random } from "../train/data/random.js";
import { mean, variance } from "./configurations.js";
import { quantile } from "./edf.js";
import { expandedTail, expandedZ } from "./smallSample.js";

/** A group of configurations: for each, its value on every seed it was trained with. */
export type Group = readonly (readonly number[])[];

export interface BootstrapOptions {
  /** Resamples drawn. */
  readonly samples: number;
  /** With the same seed (and data) the interval is the same, to the last digit. */
  readonly seed: number;
}

export interface SeedsNeeded {
  /** Seeds per configuration that would separate the effect, the configurations kept... */
  readonly seeds?: number;
  /** ...or configurations per value, at today's seeds, when more seeds alone would not. */
  readonly configurations?: number;
}

export interface Effect {
  /** Mean of the configurations with the value, minus the mean of those without. */
  readonly effect: number;
  readonly mean: number;
  readonly othersMean: number;
  /** Bootstrap 95% interval of the effect (expanded percentile, see smallSample.ts). */
  readonly lo: number;
  readonly hi: number;
  /** The interval leaves out zero; false also when the noise could not be estimated. */
  readonly clear: boolean;
  /** False when a side has one independent measurement: nothing says how much it would move. */
  readonly noiseKnown: boolean;
  /** When not clear: a power-style estimate of what would make it clear (see estimateNeeded). */
  readonly needed?: SeedsNeeded;
}

/**
 * One group's mean over a two-stage (hierarchical) resample: configurations drawn with
 * replacement, then each drawn configuration's seeds drawn with replacement. Configurations
 * weigh the same whatever their number of seeds, as in the point estimate.
 */
function resampledMean(g: Group, rng: Random): number {
  let sum = 0;
  for (let i = 0; i < g.length; i++) {
    const c = g[rng.below(g.length)]!;
    let s = 0;
    for (let j = 0; j < c.length; j++) s += c[rng.below(c.length)]!;
    sum += s / c.length;
  }
  return sum / g.length;
}

const groupMean = (g: Group) => mean(g.map(mean));

/**
 * The main effect of an axis value with its bootstrap 95% interval: configurations with the
 * value against the others, each configuration the mean of its seeds. `key` (e.g. the axis and
 * value indices) makes each effect's resamples independent of which other effects are computed.
 */
export function mainEffect(
  withValue: Group,
  others: Group,
  opts: BootstrapOptions,
  ...key: number[]
): Effect {
  const m1 = groupMean(withValue);
  const m0 = groupMean(others);
  const rng = new Random(deriveSeed(opts.seed, ...key));
  const draws = new Float64Array(opts.samples);
  for (let b = 0; b < opts.samples; b++)
    draws[b] = resampledMean(withValue, rng) - resampledMean(others, rng);
  draws.sort();
  // Independent units: configurations, or the seeds of a group's only configuration.
  const units = Math.min(
    ...[withValue, others].map((g) => (g.length > 1 ? g.length : g[0]!.length)),
  );
  const tail = expandedTail(units);
  const lo = quantile(draws, tail);
  const hi = quantile(draws, 1 - tail);
  const noiseKnown = units > 1;
  const clear = noiseKnown && (lo > 0 || hi < 0);
  const effect = m1 - m0;
  const needed = clear || !noiseKnown ? undefined : estimateNeeded(withValue, others, effect);
  return {
    effect,
    mean: m1,
    othersMean: m0,
    lo,
    hi,
    clear,
    noiseKnown,
    ...(needed ? { needed } : {}),
  };
}

/** z for 80% power: a true effect of d is found 4 times in 5. */
export const POWER_Z = 0.841621;

/** Beyond this many seeds or configurations, the estimate says "more than". */
const MOST = 100_000;

/**
 * How many seeds (or configurations) would separate an effect of the observed size d, from the
 * variance components of the two groups (docs/RESULTS.md, "Reading a report"):
 *
 *   W    = pooled within-configuration variance over seeds
 *   V_g  = variance of group g's configuration means (m_g configurations, k_g seeds each);
 *          a group of one configuration has V_g = W / k_g
 *   B_g  = max(0, V_g - W / k_g), the part of V_g that more seeds would not remove
 *   SE(k)^2 = sum_g (B_g + W / k) / m_g
 *
 * Seeds: the smallest k with (c(n) + 0.84) SE(k) <= |d|, where c(n) is the interval's own
 * half-width in standard errors for n independent units (1.96 for large n, wider for small; see
 * smallSample.ts) and 0.84 buys 80% power. When B alone is too large, no number of seeds is
 * enough: then the smallest number M of configurations per value (the others growing in
 * proportion), SE^2 scaling as 1 / M, with today's seeds.
 */
export function estimateNeeded(withValue: Group, others: Group, d: number): SeedsNeeded {
  if (d === 0) return {};
  const within = pooledWithin([...withValue, ...others]);
  const parts = [withValue, others].map((g) => {
    const k = mean(g.map((c) => c.length));
    const v = g.length > 1 ? variance(g.map(mean))! : within !== undefined ? within / k : 0;
    const b = within !== undefined ? Math.max(0, v - within / k) : v;
    return { m: g.length, k, v, b };
  });
  const separates = (se2: number, units: number) =>
    (expandedZ(units) + POWER_Z) * Math.sqrt(se2) <= Math.abs(d);
  if (within !== undefined && within > 0) {
    for (let k = Math.floor(Math.max(...parts.map((p) => p.k))) + 1; k <= MOST; k++) {
      const se2 = parts.reduce((s, p) => s + (p.b + within / k) / p.m, 0);
      const units = Math.min(...parts.map((p) => (p.m > 1 ? p.m : k)));
      if (separates(se2, units)) return { seeds: k };
      if (
        parts.every((p) => p.m > 1) &&
        !separates(
          parts.reduce((s, p) => s + p.b / p.m, 0),
          units,
        )
      )
        break; // seeds cannot bring SE below the configurations' own spread
    }
  }
  const se2Now = parts.reduce((s, p) => s + p.v / p.m, 0);
  const mNow = withValue.length;
  for (let m = mNow + 1; m <= MOST; m++) {
    const f = m / mNow;
    const units = Math.min(...parts.map((p) => Math.floor(p.m * f)));
    if (separates(se2Now / f, units)) return { configurations: m };
  }
  return { configurations: MOST };
}

/** The within-configuration variance over seeds, pooled over configurations of 2+ seeds. */
export function pooledWithin(configs: Group): number | undefined {
  let ss = 0;
  let df = 0;
  for (const c of configs) {
    if (c.length < 2) continue;
    const m = mean(c);
    ss += c.reduce((a, x) => a + (x - m) ** 2, 0);
    df += c.length - 1;
  }
  return df ? ss / df : undefined;
}
