import type { Json } from "../../language/elaborate/values.js";
import type { SweepRecord } from "../sweep/results.js";
import { columnsFor, findColumn, sortBy, type Column } from "./columns.js";
import { canonicalJson, compareIdentity } from "../run/identity.js";
import {
  axesOf,
  groupConfigurations,
  onePerSeed,
  mean,
  metricDefs,
  showValue,
  type Configuration,
} from "./configurations.js";
import { edf } from "./edf.js";
import { mainEffect, type Effect } from "./effects.js";
import { paretoFront } from "./pareto.js";

export interface AnalysisOptions {
  /** The accuracy to analyse, by metric id (default: val accuracy when measured, else train). */
  readonly metric?: string;
  /** Bootstrap resamples per effect (default 2000). */
  readonly samples?: number;
  /** Bootstrap seed (default 0). */
  readonly seed?: number;
  /** A column id or heading to order the table by, and the direction (default descending). */
  readonly sort?: string;
  readonly ascending?: boolean;
}

export interface ParetoPoint {
  readonly configuration: string;
  readonly point: Readonly<Record<string, Json>>;
  readonly cost: number;
  readonly accuracy: number;
}

export interface AxisEdf {
  readonly axis: string;
  readonly value: string;
  readonly n: number;
  /** Errors (1 - accuracy, each configuration's mean over seeds), ascending: the EDF's steps. */
  readonly errors: readonly number[];
}

export interface AxisEffect extends Effect {
  readonly axis: string;
  readonly value: string;
  readonly configurations: number;
  readonly seeds: number;
}

/** Everything `archc report` prints; `--json` prints exactly this. */
export interface Report {
  readonly file: string;
  /** The accuracy the analysis ranks by, with its split in the title; null when none measured. */
  readonly metric: { readonly id: string; readonly title: string } | null;
  readonly axes: readonly string[];
  /** The column the rows are ordered by and the direction, when --sort asked for one. */
  readonly sorted?: string;
  readonly columns: readonly { readonly id: string; readonly title: string }[];
  /** One per configuration (seeds averaged), keyed by column id, plus its whole label. */
  readonly rows: readonly Record<string, Json>[];
  readonly pareto: readonly {
    readonly cost: string;
    readonly title: string;
    readonly points: readonly ParetoPoint[];
  }[];
  readonly edf: readonly AxisEdf[];
  readonly effects: readonly AxisEffect[];
  readonly bootstrap: { readonly samples: number; readonly seed: number; readonly method: string };
  /** Plain sentences: where differences lie inside the noise, and what would separate them. */
  readonly noise: readonly string[];
  /** Rows that failed, rows without the metric, and the like. */
  readonly notes: readonly string[];
}

export class ReportUsageError extends Error {}

const costs = [
  { id: "macs", title: "MACs", get: (c: Configuration) => c.macs },
  { id: "params", title: "params", get: (c: Configuration) => c.params },
  { id: "latency_ms", title: "latency ms", get: (c: Configuration) => c.latencyMs },
] as const;

const signed = (x: number) => (x >= 0 ? "+" : "−") + Math.abs(x).toFixed(4);

/** The analysis of a results file's rows (see docs/RESULTS.md, "Reading a report"). */
export function analyse(file: string, rows: readonly SweepRecord[], opts: AnalysisOptions = {}) {
  const axes = axesOf(rows);
  const configs = groupConfigurations(rows);
  const samples = opts.samples ?? 2000;
  const seed = opts.seed ?? 0;
  const available = metricDefs.filter((m) => m.accuracy && configs.some((c) => c.values[m.id]));
  const metric = opts.metric
    ? metricDefs.find((m) => m.accuracy && (m.id === opts.metric || m.title === opts.metric))
    : available[0];
  if (opts.metric && (!metric || !available.includes(metric)))
    throw new ReportUsageError(
      `--metric ${opts.metric} is not measured in ${file}; choose from ${available.map((m) => m.id).join(", ") || "(no accuracy was measured)"}`,
    );
  const columns = columnsFor(configs, axes, metric?.id);
  let ordered = configs;
  let sorted: string | undefined;
  if (opts.sort !== undefined) {
    const col = findColumn(columns, opts.sort);
    if (!col)
      throw new ReportUsageError(
        `--sort ${opts.sort}: no such column; choose from ${columns.map((c) => c.id).join(", ")}`,
      );
    ordered = sortBy(configs, col, !opts.ascending);
    sorted = `${col.id}, ${opts.ascending ? "ascending" : "descending"}`;
  }
  const notes: string[] = [...differences(rows)];
  const failed = configs.filter((c) => c.error);
  for (const c of failed) notes.push(`${c.label} failed: ${c.error}`);
  // The analysis: configurations that measured the metric, each the mean of its seeds.
  const scored = metric ? configs.filter((c) => c.values[metric.id]?.length) : [];
  const unscored = configs.filter((c) => !c.error && !scored.includes(c));
  if (metric && unscored.length)
    notes.push(
      `${unscored.length} configuration(s) have no ${metric.title} and are left out of the analysis: ${unscored.map((c) => c.label).join("; ")}`,
    );
  if (!metric) notes.push("no accuracy was measured (--measure train): only the table is shown");
  const acc = (c: Configuration) => mean(c.values[metric!.id]!);
  const pareto = costs.flatMap((k) => {
    const placed = scored.filter((c) => k.get(c) !== undefined);
    if (!placed.length || placed.length < scored.length) return [];
    const front = paretoFront(placed.map((c) => ({ c, cost: k.get(c)!, score: acc(c) })));
    return [
      {
        cost: k.id,
        title: k.title,
        points: front.map((p) => ({
          configuration: p.c.label,
          point: p.c.point,
          cost: p.cost,
          accuracy: p.score,
        })),
      },
    ];
  });
  const edfs: AxisEdf[] = [];
  const effects: AxisEffect[] = [];
  const noise: string[] = [];
  for (const [ai, axis] of axes.entries()) {
    const values = [...new Set(scored.map((c) => showValue(c.point[axis])))];
    if (values.length < 2) continue;
    const axisEffects: AxisEffect[] = [];
    for (const [vi, value] of values.entries()) {
      const mine = scored.filter((c) => showValue(c.point[axis]) === value);
      const rest = scored.filter((c) => showValue(c.point[axis]) !== value);
      const e = edf(mine.map((c) => 1 - acc(c)));
      edfs.push({ axis, value, n: e.n, errors: e.sorted });
      const group = (cs: Configuration[]) => cs.map((c) => c.values[metric!.id]!);
      const effect = mainEffect(group(mine), group(rest), { samples, seed }, ai, vi);
      axisEffects.push({
        axis,
        value,
        configurations: mine.length,
        seeds: mine.reduce((s, c) => s + c.values[metric!.id]!.length, 0),
        ...effect,
      });
    }
    effects.push(...axisEffects);
    const sentence = noiseSentence(axis, axisEffects);
    if (sentence) noise.push(sentence);
  }
  const report: Report = {
    file,
    metric: metric ? { id: metric.id, title: metric.title } : null,
    axes,
    ...(sorted ? { sorted } : {}),
    columns: columns.map((c) => ({ id: c.id, title: c.title })),
    rows: ordered.map((c) => rowOf(c, columns)),
    pareto,
    edf: edfs,
    effects,
    bootstrap: { samples, seed, method: "hierarchical: configurations, then seeds within each" },
    noise,
    notes,
  };
  return { report, columns, configs: ordered };
}

function rowOf(c: Configuration, columns: readonly Column[]): Record<string, Json> {
  const row: Record<string, Json> = { configuration: c.label };
  for (const col of columns) {
    const v = col.get(c);
    if (v !== undefined) row[col.id] = v;
  }
  return row;
}

/**
 * A plain sentence when no value of an axis stands clear of the noise, with what would separate
 * its largest effect; nothing when some value does (its interval then speaks for itself).
 */
export function noiseSentence(axis: string, effects: readonly AxisEffect[]): string | undefined {
  if (effects.some((e) => e.clear)) return undefined;
  const unknown = effects.find((e) => !e.noiseKnown);
  if (unknown)
    return `${axis}: ${axis}=${unknown.value} was measured once, so nothing says how much it would move; train each configuration with --seeds 2 or more.`;
  const big = [...effects].sort((a, b) => Math.abs(b.effect) - Math.abs(a.effect))[0]!;
  const size = `${big.configurations} configuration(s), ${big.seeds} run(s)`;
  const head = `${axis}: the differences lie inside the noise. The largest, ${axis}=${big.value} at ${signed(big.effect)} against the other values (95% interval ${signed(big.lo)} to ${signed(big.hi)}, from ${size}), could be zero.`;
  if (big.effect === 0) return `${head} No difference at all was observed.`;
  const n = big.needed;
  if (n?.seeds)
    return `${head} Separating an effect of ${Math.abs(big.effect).toFixed(4)} would take about ${n.seeds} seeds per configuration.`;
  if (n?.configurations)
    return `${head} Separating an effect of ${Math.abs(big.effect).toFixed(4)} would take about ${n.configurations} configurations per value: the configurations differ among themselves more than their seeds do, so more seeds alone would not.`;
  return head;
}

/** Identity fields that differ between configurations by design; any other is a setting. */
const perConfiguration = ["network", "args", "graph", "invalid", "seed", "measures", "latency"];

/**
 * Sentences for rows that should not be compared as they are: measured with other settings
 * than the first row (epochs, data, engine, ...), or a configuration's seed measured twice.
 */
function differences(rows: readonly SweepRecord[]): string[] {
  const out: string[] = [];
  const { dropped } = onePerSeed(rows);
  if (dropped)
    out.push(
      `${dropped} row(s) measured a configuration and seed again with other settings; the report uses one row for each (a trained one, else the last)`,
    );
  const first = rows.find((r) => r.identity);
  if (!first) return out;
  const seen = new Map<string, string>();
  for (const r of rows) {
    if (!r.identity) continue;
    for (const d of compareIdentity(first.identity!, r.identity, perConfiguration)) {
      const show = (x: Json | undefined) => (x === undefined ? "absent" : canonicalJson(x));
      if (!seen.has(d.path))
        seen.set(
          d.path,
          `${d.path} is ${show(d.want)} for ${first.variant} but ${show(d.have)} for ${r.variant}`,
        );
    }
  }
  if (seen.size)
    out.push(
      `rows were measured with different settings (${[...seen.values()].join("; ")}): their differences are not only the axes'; give each setting its own --out folder`,
    );
  return out;
}
