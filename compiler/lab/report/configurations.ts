import type { Json } from "../../language/elaborate/values.js";
import type { SweepRecord } from "../sweep/results.js";

/**
 * What a report can compare, one entry per measured number. Titles name the split a metric
 * comes from: `val` is the split the trainer validated on, `train` the last epoch's running
 * figures (with dropout). A new split (e.g. a test set from `archc eval`) is one more entry.
 */
export interface MetricDef {
  readonly id: string;
  readonly title: string;
  /** Accuracies are what the Pareto front, the EDFs (of error = 1 - accuracy) and effects use. */
  readonly accuracy: boolean;
  readonly get: (r: SweepRecord) => number | undefined;
}

export const metricDefs: readonly MetricDef[] = [
  { id: "val_accuracy", title: "val accuracy", accuracy: true, get: (r) => r.train?.valAccuracy },
  { id: "train_accuracy", title: "train accuracy", accuracy: true, get: (r) => r.train?.accuracy },
  { id: "val_loss", title: "val loss", accuracy: false, get: (r) => r.train?.valLoss },
  { id: "train_loss", title: "train loss", accuracy: false, get: (r) => r.train?.loss },
];

/** One point of the design space over all its seeds. */
export interface Configuration {
  /** Every axis value, e.g. `p1=1, p2=depthwise, p3=4`. */
  readonly label: string;
  readonly variant: string;
  readonly point: Readonly<Record<string, Json>>;
  readonly seeds: readonly number[];
  readonly params?: number;
  readonly macs?: number;
  readonly latencyMs?: number;
  /** Per metric id, one value per seed that measured it, in seed order. */
  readonly values: Readonly<Record<string, readonly number[]>>;
  /** The first error of a configuration whose every row failed. */
  readonly error?: string;
}

/** How an axis value is written: `depthwise`, `4`, `true`. */
export function showValue(v: Json | undefined): string {
  return v === undefined ? "—" : typeof v === "string" ? v : JSON.stringify(v);
}

/** The axes: every key of every row's point, in the order they first appear. */
export function axesOf(rows: readonly SweepRecord[]): string[] {
  const axes: string[] = [];
  for (const r of rows) for (const a of Object.keys(r.point)) if (!axes.includes(a)) axes.push(a);
  return axes;
}

export function configLabel(point: Readonly<Record<string, Json>>, axes: readonly string[]) {
  return axes.map((a) => `${a}=${showValue(point[a])}`).join(", ");
}

/**
 * Rows per (configuration, seed) to one entry per configuration, in the order configurations
 * first appear. Failed rows are left out of the values; the seeds' numbers are kept apart (not
 * averaged) so that the analysis can resample them.
 */
export function groupConfigurations(rows: readonly SweepRecord[]): Configuration[] {
  const axes = axesOf(rows);
  const groups = new Map<string, SweepRecord[]>();
  for (const r of onePerSeed(rows).rows)
    groups.set(r.variant, [...(groups.get(r.variant) ?? []), r]);
  return [...groups.entries()].map(([variant, rs]) => {
    const ok = rs.filter((r) => !r.error).sort((a, b) => (a.seed ?? 0) - (b.seed ?? 0));
    const first = ok[0] ?? rs[0]!;
    const values: Record<string, number[]> = {};
    for (const m of metricDefs) {
      const xs = ok.map(m.get).filter((x): x is number => x !== undefined && Number.isFinite(x));
      if (xs.length) values[m.id] = xs;
    }
    const latencies = ok.flatMap((r) => (r.latency ? [r.latency.medianMs] : []));
    const failed = rs.find((r) => r.error)?.error;
    return {
      label: configLabel(first.point, axes),
      variant,
      point: first.point,
      seeds: ok.map((r) => r.seed ?? 0),
      ...(first.params !== undefined ? { params: first.params } : {}),
      ...(first.macs !== undefined ? { macs: first.macs } : {}),
      ...(latencies.length ? { latencyMs: mean(latencies) } : {}),
      values,
      ...(!ok.length && failed ? { error: `${failed.code}: ${failed.message}` } : {}),
    };
  });
}

export const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Sample variance (n - 1); undefined below two values. */
export function variance(xs: readonly number[]): number | undefined {
  if (xs.length < 2) return undefined;
  const m = mean(xs);
  return xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1);
}

/**
 * One row per (configuration, seed). A folder can hold a configuration's seed more than once
 * under different identities (the same sweep rerun with other settings into the same --out):
 * those are not extra seeds. A trained row wins over one that was not, then the later line.
 */
export function onePerSeed(rows: readonly SweepRecord[]): {
  rows: SweepRecord[];
  dropped: number;
} {
  const kept = new Map<string, SweepRecord>();
  let dropped = 0;
  for (const r of rows) {
    const k = `${r.variant}#${r.seed ?? 0}`;
    const seen = kept.get(k);
    if (seen) dropped++;
    if (!seen || !!r.train >= !!seen.train) kept.set(k, r);
  }
  return { rows: [...kept.values()], dropped };
}
