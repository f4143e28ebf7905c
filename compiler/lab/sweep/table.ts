import { formatCount, formatMacs } from "../../backends/summary/summary.js";
import type { SummaryRecord } from "./aggregate.js";
import type { SweepRecord } from "./results.js";

/** `0.8123` or, over seeds, `0.8123 ± 0.0100`. */
function withSpread(mean: number | undefined, sd: number | undefined): string {
  if (mean === undefined) return "";
  return sd === undefined ? mean.toFixed(4) : `${mean.toFixed(4)} ± ${sd.toFixed(4)}`;
}

function cells(r: SweepRecord, axes: readonly string[]): Record<string, string> {
  const sp = (r as Partial<SummaryRecord>).spread;
  const seeds = (r as Partial<SummaryRecord>).seeds;
  return {
    ...Object.fromEntries(axes.map((a) => [a, String(r.point[a] ?? "")])),
    params: r.params !== undefined ? formatCount(r.params) : "",
    MACs: r.macs !== undefined ? formatMacs(r.macs) : "",
    "latency ms": r.latency
      ? `${r.latency.medianMs.toFixed(1)} (${r.latency.minMs.toFixed(1)}-${r.latency.maxMs.toFixed(1)})`
      : "",
    "train loss": withSpread(r.train?.loss, sp?.loss),
    "train accuracy": withSpread(r.train?.accuracy, sp?.accuracy),
    "val accuracy":
      withSpread(r.train?.valAccuracy, sp?.valAccuracy) + (r.train?.bnLag ? " (BN lag)" : ""),
    seeds: seeds && seeds.length > 1 ? String(seeds.length) : "",
    cached: r.cached ? "yes" : "",
    note: r.error
      ? `${r.error.code}: ${r.error.message}`
      : r.snapped?.length
        ? `snapped ${r.snapped.length} layer(s)`
        : "",
  };
}

/** A terminal table; columns that no variant filled are left out. */
export function formatTable(records: readonly SweepRecord[], axes: readonly string[]): string {
  const rows = records.map((r) => cells(r, axes));
  const valData = [...new Set(records.flatMap((r) => (r.train?.valData ? [r.train.valData] : [])))];
  const cachedNote =
    (valData.length ? `\nval: measured on ${valData.join(", ")}` : "") +
    (records.some((r) => r.train?.bnLag)
      ? "\nBN lag: too few steps for the batch-norm momentum and no recalibration (--precise-bn off); its val numbers measure the moving averages' lag"
      : "") +
    (records.some((r) => r.cached)
      ? "\ncached: yes = the row comes from results.jsonl, measured earlier with the same identity"
      : "");
  const head = Object.keys(rows[0] ?? cells({ variant: "", point: {} }, axes)).filter(
    (k) => axes.includes(k) || rows.some((r) => r[k]),
  );
  const widths = head.map((h) => Math.max(h.length, ...rows.map((r) => r[h]!.length)));
  const numeric = new Set([
    "params",
    "MACs",
    "latency ms",
    "train loss",
    "train accuracy",
    "val accuracy",
    "seeds",
  ]);
  const line = (c: string[]) =>
    c
      .map((x, i) => (numeric.has(head[i]!) ? x.padStart(widths[i]!) : x.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return (
    [
      line(head),
      line(widths.map((w) => "─".repeat(w))),
      ...rows.map((r) => line(head.map((h) => r[h]!))),
    ].join("\n") + cachedNote
  );
}

function csvCell(v: string | number | undefined): string {
  if (v === undefined) return "";
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function formatCsv(records: readonly SweepRecord[], axes: readonly string[]): string {
  const summary = records.some((r) => (r as Partial<SummaryRecord>).spread);
  const head = [
    ...axes,
    "params",
    "trainable",
    "macs",
    "backend",
    "batch",
    "latency_median_ms",
    "latency_min_ms",
    "latency_max_ms",
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "val_data",
    "bn_lag",
    "cached",
    "error",
    ...(summary
      ? ["seeds", "train_loss_sd", "train_accuracy_sd", "val_loss_sd", "val_accuracy_sd"]
      : []),
  ];
  const rows = records.map((r) =>
    [
      ...axes.map((a) => String(r.point[a] ?? "")),
      r.params,
      r.trainable,
      r.macs,
      r.latency?.backend,
      r.latency?.batch,
      r.latency?.medianMs,
      r.latency?.minMs,
      r.latency?.maxMs,
      r.train?.loss,
      r.train?.accuracy,
      r.train?.valLoss,
      r.train?.valAccuracy,
      r.train?.valData,
      r.train?.bnLag ? "yes" : undefined,
      r.cached ? "yes" : undefined,
      r.error ? `${r.error.code}: ${r.error.message}` : undefined,
      ...(summary
        ? [
            (r as Partial<SummaryRecord>).seeds?.length,
            (r as Partial<SummaryRecord>).spread?.loss,
            (r as Partial<SummaryRecord>).spread?.accuracy,
            (r as Partial<SummaryRecord>).spread?.valLoss,
            (r as Partial<SummaryRecord>).spread?.valAccuracy,
          ]
        : []),
    ]
      .map(csvCell)
      .join(","),
  );
  return [head.join(","), ...rows].join("\n") + "\n";
}
