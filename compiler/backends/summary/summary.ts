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

export function describeOp(n: IRNode): string {
  switch (n.op) {
    case "conv":
    case "sepconv": {
      const a = n.attrs;
      const stride = a.strides[0] !== 1 || a.strides[1] !== 1 ? `/${a.strides[0]}` : "";
      const extra = n.op === "sepconv" && n.attrs.mid !== "none" ? ` mid=${n.attrs.mid}` : "";
      const padding = a.pads ? ` ${padText(a.pads)}` : a.padding === "valid" ? " valid" : "";
      return `${n.op} ${a.kernel[0]}x${a.kernel[1]}${stride}${padding}${extra}`;
    }
    case "maxpool":
    case "avgpool": {
      const a = n.attrs;
      const padding = a.pads ? ` ${padText(a.pads)}` : a.padding === "same" ? " same" : "";
      return `${n.op} ${a.pool[0]}x${a.pool[1]}/${a.strides[0]}${padding}`;
    }
    case "zeropad":
      return `zeropad ${padText(n.attrs.pads).slice("pad=".length)}`;
    case "act":
      return n.attrs.activation;
    case "dense":
      return n.attrs.activation !== "none" ? `dense ${n.attrs.activation}` : "dense";
    case "dropout":
      return `dropout ${n.attrs.rate}`;
    case "droppath":
      return `droppath ${n.attrs.rate}`;
    case "layerscale":
      return `layerscale ${n.attrs.init}`;
    case "shuffle":
      return `shuffle ${n.attrs.groups}`;
    case "upsample":
      return `upsample ${n.attrs.factor[0]}x${n.attrs.factor[1]}`;
    default:
      return n.op;
  }
}

/** Explicit pads as the language writes them, shortest form first: pad=1, pad=2x1, pad=[t, b, l, r]. */
export function padText(p: readonly number[]): string {
  const [t, b, l, r] = p;
  if (t === b && l === r) return t === l ? `pad=${t}` : `pad=${t}x${l}`;
  return `pad=[${p.join(", ")}]`;
}

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
