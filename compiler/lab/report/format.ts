import { formatCount, formatMacs } from "../../backends/summary/summary.js";
import type { Report } from "./analyse.js";
import type { Column } from "./columns.js";
import type { Configuration } from "./configurations.js";
import { quantile } from "./edf.js";

const signed = (x: number) => (x >= 0 ? "+" : "−") + Math.abs(x).toFixed(4);

const costText: Record<string, (x: number) => string> = {
  macs: formatMacs,
  params: formatCount,
  latency_ms: (x) => `${x.toFixed(2)} ms`,
};

function table(head: string[], rows: string[][], right: (i: number) => boolean): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((x, i) => (right(i) ? x.padStart(widths[i]!) : x.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(head), line(widths.map((w) => "─".repeat(w))), ...rows.map(line)].join("\n");
}

/**
 * The configurations' table alone (what a sweep already prints is not repeated at its end). A
 * metric's standard deviation is written beside its mean, `0.8123 ± 0.0100`, as the sweep's
 * table does; --json keeps the two apart.
 */
export function formatConfigTable(
  columns: readonly Column[],
  configs: readonly Configuration[],
  axes: readonly string[],
): string {
  const sds = new Map(
    columns.filter((c) => c.id.endsWith("_sd")).map((c) => [c.id.slice(0, -3), c] as const),
  );
  const shown = columns.filter(
    (c) => !(c.id.endsWith("_sd") && columns.some((m) => `${m.id}_sd` === c.id)),
  );
  const rows = configs.map((c) =>
    shown.map((col) => {
      const v = col.get(c);
      if (v === undefined) return "";
      const sd = sds.get(col.id)?.get(c);
      return col.show(v) + (sd !== undefined ? ` ± ${sds.get(col.id)!.show(sd)}` : "");
    }),
  );
  return table(
    shown.map((c) => c.title),
    rows,
    (i) => !axes.includes(shown[i]!.id) && shown[i]!.id !== "error",
  );
}

/** The analysis: Pareto fronts, EDFs, main effects with intervals, and the noise sentences. */
export function formatAnalysis(r: Report): string {
  const out: string[] = [];
  if (!r.metric) return r.notes.join("\n");
  const m = r.metric.title;
  for (const p of r.pareto) {
    out.push(
      `Pareto front: ${m} against ${p.title} (${p.points.length} of ${r.rows.length} configurations)`,
    );
    out.push(
      table(
        [p.title, m, "configuration"],
        p.points.map((x) => [costText[p.cost]!(x.cost), x.accuracy.toFixed(4), x.configuration]),
        (i) => i < 2,
      ),
      "",
    );
  }
  if (r.edf.length) {
    out.push(`Error (1 − ${m}) by axis value: the EDF of the configurations that have it`);
    out.push(
      table(
        ["value", "n", "min", "25%", "median", "75%", "max"],
        r.edf.map((e) => [
          `${e.axis}=${e.value}`,
          String(e.n),
          ...[0, 0.25, 0.5, 0.75, 1].map((q) => quantile(e.errors, q).toFixed(4)),
        ]),
        (i) => i > 0,
      ),
      "",
    );
    out.push(
      `Main effects on ${m}: the configurations with a value minus those without, bootstrap 95% interval (${r.bootstrap.samples} resamples of configurations and their seeds, seed ${r.bootstrap.seed})`,
    );
    out.push(
      table(
        ["value", "configs", "runs", "mean", "effect", "95% interval", ""],
        r.effects.map((e) => [
          `${e.axis}=${e.value}`,
          String(e.configurations),
          String(e.seeds),
          e.mean.toFixed(4),
          signed(e.effect),
          `${signed(e.lo)} to ${signed(e.hi)}`,
          e.clear ? "clear" : e.noiseKnown ? "inside the noise" : "noise unknown",
        ]),
        (i) => i > 0 && i < 6,
      ),
      "",
    );
  }
  out.push(...r.noise, ...r.notes);
  return out.join("\n").trimEnd();
}

/** The whole report as `archc report` prints it. */
export function formatReport(
  r: Report,
  columns: readonly Column[],
  configs: readonly Configuration[],
): string {
  const seeds = new Set(configs.map((c) => c.seeds.length));
  const head = `${r.file}: ${configs.length} configurations${seeds.size === 1 && [...seeds][0]! > 1 ? ` × ${[...seeds][0]} seeds` : ""}${r.metric ? `; analysis of ${r.metric.title}` : ""}${r.sorted ? `; sorted by ${r.sorted}` : ""}`;
  return [head, "", formatConfigTable(columns, configs, r.axes), "", formatAnalysis(r)]
    .join("\n")
    .trimEnd();
}
