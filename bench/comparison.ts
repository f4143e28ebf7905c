/**
 * The rows and tables that `bench -- train` (archc against PyTorch) and `bench -- infer` (archc
 * run against onnxruntime-node) print and append to their results files: one row per case,
 * variant (the grouped layers' strategies) and thread count, with each side's timings summarised
 * (median and spread, wall-clock and CPU), the load average when the row started and ended, or
 * why the row failed. Pure: the tests check the tables without timing anything.
 */
import { formatSummary, type Summary } from "./timing.js";

export interface ComparisonRow {
  readonly bench: string;
  /** The case (`mini4`, `xception`, ...), as ARCHC_BENCH_CASES names it. */
  readonly key: string;
  readonly name: string;
  /** The grouped layers as archc ran them ("auto: native x8"), or "-" without any. */
  readonly variant: string;
  /**
   * What was asked for ("auto", "split", ...; "-" without grouped layers): rows at different
   * thread counts pair up by it, since the cost model may choose differently at each.
   */
  readonly strategy?: string;
  readonly threads: number;
  readonly status: "ok" | "failed";
  readonly error?: string;
  readonly batch?: number;
  /** archc's wall-clock and CPU milliseconds per step (or pass). */
  readonly ours?: Summary;
  readonly oursCpu?: Summary;
  /** The other side's (PyTorch's, onnxruntime's). */
  readonly theirs?: Summary;
  readonly theirsCpu?: Summary;
  /** Why the other side has no figures (not installed, failed). */
  readonly theirsNote?: string;
  /** The one-minute load average when the row started and when it ended. */
  readonly load: readonly [number, number];
  /** Untimed warm-up steps, then rounds of timed steps per side. */
  readonly warmUp?: number;
  readonly steps?: number;
  readonly rounds?: number;
  readonly started?: string;
  readonly finished?: string;
}

export interface Labels {
  readonly ours: string;
  readonly theirs: string;
  /** "step" or "pass". */
  readonly per: string;
}

export const TRAIN_LABELS: Labels = { ours: "archc", theirs: "PyTorch", per: "step" };
export const INFER_LABELS: Labels = { ours: "archc run", theirs: "onnxruntime", per: "pass" };

/** archc's median over the other side's: the figure the goals are stated in. */
export function ratio(r: ComparisonRow): number | undefined {
  return r.status === "ok" && r.ours && r.theirs ? r.ours.median / r.theirs.median : undefined;
}

const loadCell = (r: ComparisonRow) => `${r.load[0].toFixed(1)} -> ${r.load[1].toFixed(1)}`;

export function tableHeader(l: Labels): string[] {
  return [
    `| network | grouped layers | threads | ${l.ours} ms/${l.per} (min-max) | ${l.ours} CPU ms | ${l.theirs} ms/${l.per} (min-max) | ${l.theirs} CPU ms | ${l.ours} / ${l.theirs} time | ${l.ours} / ${l.theirs} CPU | load average |`,
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
}

export function formatRow(r: ComparisonRow): string {
  const cells = (xs: readonly string[]) => `| ${xs.join(" | ")} |`.replace(/ {2,}/g, " ");
  const head = [r.name, r.variant, String(r.threads)];
  if (r.status === "failed")
    return cells([...head, `failed: ${oneLine(r.error ?? "")}`, "", "", "", "", "", loadCell(r)]);
  const q = ratio(r);
  const qCpu = r.oursCpu && r.theirsCpu ? r.oursCpu.median / r.theirsCpu.median : undefined;
  const theirs = r.theirs
    ? [formatSummary(r.theirs), formatSummary(r.theirsCpu, false)]
    : [`(${oneLine(r.theirsNote ?? "not measured")})`, ""];
  return cells([
    ...head,
    formatSummary(r.ours),
    formatSummary(r.oursCpu, false),
    ...theirs,
    q === undefined ? "" : `**${q.toFixed(2)}**`,
    // On a loaded machine the side that waited longer for a core looks slower in wall-clock;
    // CPU time is what each side's work cost (at two threads it counts spinning too).
    qCpu === undefined ? "" : qCpu.toFixed(2),
    loadCell(r),
  ]);
}

/** Markdown cells hold one line without pipes; errors are cut to what a table can show. */
function oneLine(s: string): string {
  const t = s.replace(/\s+/g, " ").replace(/\|/g, "/").trim();
  return t.length > 120 ? `${t.slice(0, 117)}...` : t;
}

const asked = (r: ComparisonRow) => r.strategy ?? r.variant;
const rowId = (r: ComparisonRow) => `${r.key}\u0000${asked(r)}\u0000${r.threads}`;

/**
 * The last row for each case, variant and thread count, in the order each first appeared: a
 * results file appended to by a resumed or repeated run holds earlier attempts too. A failure
 * recorded for a case and thread count is dropped once a later run measured it.
 */
export function latestRows(rows: readonly ComparisonRow[]): ComparisonRow[] {
  const byId = new Map<string, ComparisonRow>();
  for (const r of rows) {
    if (r.status === "ok") {
      for (const [id, old] of byId)
        if (old.status === "failed" && old.key === r.key && old.threads === r.threads)
          byId.delete(id);
    }
    byId.set(rowId(r), r);
  }
  return [...byId.values()];
}

/** Each side's speed-up from the fewest to the most threads, per case and strategy asked for. */
export function speedUpTable(rows: readonly ComparisonRow[], l: Labels): string[] {
  const ok = rows.filter((r) => r.status === "ok");
  const counts = [...new Set(ok.map((r) => r.threads))].sort((a, b) => a - b);
  if (counts.length < 2) return [];
  const [lo, hi] = [counts[0]!, counts[counts.length - 1]!];
  const out = [
    `| network | grouped layers | ${l.ours} ${lo} -> ${hi} threads | ${l.theirs} ${lo} -> ${hi} threads |`,
    "| --- | --- | ---: | ---: |",
  ];
  for (const a of ok.filter((r) => r.threads === lo)) {
    const b = ok.find((r) => r.threads === hi && r.key === a.key && asked(r) === asked(a));
    if (!b) continue;
    const x = (p?: Summary, q?: Summary) => (p && q ? `${(p.median / q.median).toFixed(2)}x` : "");
    out.push(`| ${a.name} | ${asked(a)} | ${x(a.ours, b.ours)} | ${x(a.theirs, b.theirs)} |`);
  }
  return out.length > 2 ? out : [];
}

/** The final tables: every row, then the speed-ups; and the load average's range over them. */
export function finalTables(rows: readonly ComparisonRow[], l: Labels): string[] {
  const latest = latestRows(rows);
  const loads = latest.flatMap((r) => r.load);
  const ups = speedUpTable(latest, l);
  return [
    ...tableHeader(l),
    ...latest.map(formatRow),
    ...(ups.length ? ["", ...ups] : []),
    ...(loads.length
      ? [
          "",
          `load average (1 min) while these rows ran: ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}`,
        ]
      : []),
  ];
}
