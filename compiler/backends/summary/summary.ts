import { describeNode } from "../../language/elaborate/ops/catalogue.js";
import type { IRGraph, IRNode } from "../../language/ir/types.js";

export interface LayerSummary {
  readonly name: string;
  readonly op: string;
  readonly shape: readonly number[];
  readonly parts?: number;
  readonly params: number;
  readonly trainable: number;
  readonly macs: number;
  readonly inputs: readonly string[];
}

export interface Summary {
  readonly network: string;
  readonly args: IRGraph["args"];
  readonly input: readonly number[];
  readonly output: readonly number[];
  readonly params: {
    readonly total: number;
    readonly trainable: number;
    readonly nonTrainable: number;
  };
  readonly macs: number;
  readonly layers: readonly LayerSummary[];
}

export function summarize(g: IRGraph): Summary {
  return {
    network: g.network,
    args: g.args,
    input: g.input,
    output: g.nodes[g.output]!.shape,
    params: g.totals.params,
    macs: g.totals.macs,
    layers: g.nodes.map((n) => ({
      name: n.name,
      op: n.op,
      shape: n.shape,
      ...(n.op === "conv" || n.op === "sepconv" ? { parts: n.attrs.groups } : {}),
      params: n.params.trainable + n.params.nonTrainable,
      trainable: n.params.trainable,
      macs: n.macs,
      inputs: n.inputs.map((i) => g.nodes[i]!.name),
    })),
  };
}

/** A layer's op as the summary's first column shows it, with what sets it apart. */
export const describeOp: (n: IRNode) => string = describeNode;

export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

export function formatMacs(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(2)} K`;
  return String(n);
}

/** A table in the manner of Keras' `model.summary()`, with parts and MACs added. */
export function formatSummary(g: IRGraph): string {
  const rows = g.nodes.map((n) => [
    `${n.name} (${describeOp(n)})`,
    n.shape.join("x"),
    n.op === "conv" || n.op === "sepconv" ? String(n.attrs.groups) : "",
    formatCount(n.params.trainable + n.params.nonTrainable),
    n.macs ? formatMacs(n.macs) : "0",
  ]);
  const head = ["Layer (op)", "Output shape", "Parts", "Params", "MACs"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const rule = "─".repeat(widths.reduce((s, w) => s + w + 2, -2));
  const args = Object.entries(g.args)
    .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
    .join(", ");
  const t = g.totals;
  return [
    `Network: ${g.network}${args ? ` (${args})` : ""}`,
    rule,
    line(head),
    rule,
    ...rows.map(line),
    rule,
    `Total params: ${formatCount(t.params.total)}`,
    `Trainable params: ${formatCount(t.params.trainable)}`,
    `Non-trainable params: ${formatCount(t.params.nonTrainable)}`,
    `MACs per example: ${formatCount(t.macs)} (${formatMacs(t.macs)})`,
  ].join("\n");
}
