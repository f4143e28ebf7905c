import { formatCount, formatMacs } from "../../backends/summary/summary.js";
import type { Json } from "../../language/elaborate/values.js";
import { mean, metricDefs, showValue, variance, type Configuration } from "./configurations.js";

/** A column of the report's table: a stable id (for --sort and --json) and its heading. */
export interface Column {
  readonly id: string;
  readonly title: string;
  readonly get: (c: Configuration) => number | string | undefined;
  readonly show: (v: number | string) => string;
}

const fixed = (digits: number) => (v: number | string) =>
  typeof v === "number" ? v.toFixed(digits) : v;

function metricMean(c: Configuration, id: string): number | undefined {
  const xs = c.values[id];
  return xs?.length ? mean(xs) : undefined;
}

/**
 * Every column the configurations fill: the axes, the costs, each metric's mean over seeds and
 * its sample standard deviation, the number of seeds, and the primary accuracy per million MACs
 * and per million parameters (what each point buys for its cost).
 */
export function columnsFor(
  configs: readonly Configuration[],
  axes: readonly string[],
  accuracy: string | undefined,
): Column[] {
  const cols: Column[] = axes.map((a) => ({
    id: a,
    title: a,
    get: (c) => {
      const v: Json | undefined = c.point[a];
      return typeof v === "number" ? v : v === undefined ? undefined : showValue(v);
    },
    show: (v) => String(v),
  }));
  cols.push(
    { id: "params", title: "params", get: (c) => c.params, show: (v) => formatCount(Number(v)) },
    { id: "macs", title: "MACs", get: (c) => c.macs, show: (v) => formatMacs(Number(v)) },
    { id: "latency_ms", title: "latency ms", get: (c) => c.latencyMs, show: fixed(2) },
  );
  for (const m of metricDefs) {
    cols.push({ id: m.id, title: m.title, get: (c) => metricMean(c, m.id), show: fixed(4) });
    cols.push({
      id: `${m.id}_sd`,
      title: `${m.title} sd`,
      get: (c) => {
        const v = variance(c.values[m.id] ?? []);
        return v === undefined ? undefined : Math.sqrt(v);
      },
      show: fixed(4),
    });
  }
  cols.push({
    id: "seeds",
    title: "seeds",
    // Seeds matter where something was trained; params and MACs are the same on every seed.
    get: (c) => (Object.keys(c.values).length ? c.seeds.length : undefined),
    show: String,
  });
  const acc = metricDefs.find((m) => m.id === accuracy);
  if (acc) {
    const per = (c: Configuration, cost: number | undefined) => {
      const a = metricMean(c, acc.id);
      return a === undefined || !cost ? undefined : (a / cost) * 1e6;
    };
    cols.push(
      {
        id: `${acc.id}_per_mmac`,
        title: `${acc.title} per M MACs`,
        get: (c) => per(c, c.macs),
        show: fixed(4),
      },
      {
        id: `${acc.id}_per_mparam`,
        title: `${acc.title} per M params`,
        get: (c) => per(c, c.params),
        show: fixed(4),
      },
    );
  }
  cols.push({ id: "error", title: "error", get: (c) => c.error, show: String });
  return cols.filter(
    (col) => axes.includes(col.id) || configs.some((c) => col.get(c) !== undefined),
  );
}

/** A column by id or heading, case and `_`/space alike: `val accuracy` finds `val_accuracy`. */
export function findColumn(cols: readonly Column[], name: string): Column | undefined {
  const norm = (s: string) =>
    s
      .toLowerCase()
      .replace(/[\s_-]+/g, " ")
      .trim();
  return (
    cols.find((c) => norm(c.id) === norm(name)) ?? cols.find((c) => norm(c.title) === norm(name))
  );
}

/**
 * Configurations ordered by a column; those without a value go last either way, and ties keep
 * their order (the order the sweep planned them). Numbers compare as numbers, text as text.
 */
export function sortBy(
  configs: readonly Configuration[],
  col: Column,
  descending: boolean,
): Configuration[] {
  const sign = descending ? -1 : 1;
  return [...configs].sort((a, b) => {
    const x = col.get(a);
    const y = col.get(b);
    if (x === undefined || y === undefined)
      return (x === undefined ? 1 : 0) - (y === undefined ? 1 : 0);
    if (typeof x === "number" && typeof y === "number") return sign * (x - y);
    return sign * String(x).localeCompare(String(y), "en", { numeric: true });
  });
}
