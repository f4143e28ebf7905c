import type { SweepRecord, TrainOutcome } from "./results.js";

/** Standard deviations over seeds of the trained numbers (sample sd, n - 1). */
export interface Spread {
  readonly loss: number;
  readonly accuracy: number;
  readonly valLoss?: number;
  readonly valAccuracy?: number;
}

/** A variant over several seeds: the mean of each trained number, with its spread. */
export interface SummaryRecord extends SweepRecord {
  readonly seeds: readonly number[];
  readonly spread?: Spread;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: readonly number[]) => {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
};

/**
 * One row per variant from rows per (variant, seed), in the order variants first appear. Rows
 * that failed are left out of the means; a variant whose every seed failed keeps its error.
 */
export function aggregateSeeds(records: readonly SweepRecord[]): SummaryRecord[] {
  const groups = new Map<string, SweepRecord[]>();
  for (const r of records) groups.set(r.variant, [...(groups.get(r.variant) ?? []), r]);
  return [...groups.values()].map((rs) => {
    const ok = rs.filter((r) => r.train && !r.error);
    const seeds = rs.map((r) => r.seed ?? 0);
    const { seed: _seed, key: _key, identity: _identity, cached: _cached, ...first } = rs[0]!;
    if (!ok.length) return { ...first, seeds };
    const trains = ok.map((r) => r.train!);
    const pick = (f: (t: TrainOutcome) => number | undefined) =>
      trains.map(f).filter((x): x is number => x !== undefined);
    const valLoss = pick((t) => t.valLoss);
    const valAccuracy = pick((t) => t.valAccuracy);
    const { error: _error, ...base } = first;
    return {
      ...base,
      seeds,
      ...(rs.some((r) => r.cached) ? { cached: true } : {}),
      train: {
        epochs: trains[0]!.epochs,
        loss: mean(pick((t) => t.loss)),
        accuracy: mean(pick((t) => t.accuracy)),
        ...(valLoss.length ? { valLoss: mean(valLoss) } : {}),
        ...(valAccuracy.length ? { valAccuracy: mean(valAccuracy) } : {}),
        seconds: mean(pick((t) => t.seconds)),
        imagesPerSec: mean(pick((t) => t.imagesPerSec)),
        ...(trains[0]!.valData ? { valData: trains[0]!.valData } : {}),
        ...(trains.some((t) => t.bnLag) ? { bnLag: true } : {}),
      },
      spread: {
        loss: sd(pick((t) => t.loss)),
        accuracy: sd(pick((t) => t.accuracy)),
        ...(valLoss.length ? { valLoss: sd(valLoss) } : {}),
        ...(valAccuracy.length ? { valAccuracy: sd(valAccuracy) } : {}),
      },
    };
  });
}
