import type { Hover, Position, Range } from "vscode-languageserver-types";
import type { BlockDecl, LayerStmt, NetworkDecl, Param } from "../../grammar/ast.js";
import { printExpr } from "../../grammar/printer.js";
import { describeOp, formatCount, formatMacs } from "../backends/summary/summary.js";
import { kindWords } from "../language/elaborate/ops/attrs.js";
import { ops } from "../language/elaborate/ops/catalogue.js";
import { callDepth, callText, instancePath } from "../language/ir/blocks.js";
import type { IRGraph, IRNode } from "../language/ir/types.js";
import { importTarget } from "../language/load.js";
import { nodesOf, sourceKey, type Analysis } from "./analysis.js";
import { contains, extent, rangeOf } from "./positions.js";

/** Figures of one run of a layer or block call, summed over the nodes it produced. */
export interface RunFigures {
  readonly name: string;
  readonly shape: readonly number[];
  readonly params: number;
  readonly trainable: number;
  readonly macs: number;
  /** Resolved group counts of the convolutions, in order, without repeats. */
  readonly groups: readonly number[];
}

export function runFigures(name: string, nodes: readonly IRNode[]): RunFigures {
  const groups: number[] = [];
  for (const n of nodes) {
    if ((n.op === "conv" || n.op === "sepconv") && !groups.includes(n.attrs.groups))
      groups.push(n.attrs.groups);
  }
  return {
    name,
    shape: nodes[nodes.length - 1]?.shape ?? [],
    params: nodes.reduce((s, n) => s + n.params.trainable + n.params.nonTrainable, 0),
    trainable: nodes.reduce((s, n) => s + n.params.trainable, 0),
    macs: nodes.reduce((s, n) => s + n.macs, 0),
    groups,
  };
}

export const shapeText = (shape: readonly number[]): string => shape.join("x");
const macsText = (m: number) => (m ? `${formatCount(m)} (${formatMacs(m)})` : "0");

/** The runs (one per time it was built) of the layer statement, or undefined when not built. */
export function runsOf(analysis: Analysis, stmt: LayerStmt): RunFigures[] | undefined {
  const f = analysis.figures();
  if (!f.ok) return undefined;
  if (ops.has(stmt.callee.name)) {
    const s = stmt.span.start;
    const nodes = f.bySource.get(sourceKey(stmt.span.file, s.line, s.column)) ?? [];
    return nodes.map((n) => runFigures(`${n.name} (${describeOp(n)})`, [n]));
  }
  const calls = f.byCall.get(stmt) ?? [];
  const at = { file: stmt.span.file, ...stmt.span.start };
  return calls.map(([first, end]) => {
    const nodes = f.graph.nodes.slice(first, end);
    // Every node the call made records it; one that made none (an identity) has no instance.
    const depth = nodes[0] ? callDepth(nodes[0], at) : -1;
    if (depth < 0) return runFigures(stmt.callee.name, nodes);
    const path = instancePath(nodes[0]!, depth + 1).join("/");
    return runFigures(`${path} = ${callText(nodes[0]!.blocks[depth]!)}`, nodes);
  });
}

function runLines(run: RunFigures, partsText: string | undefined): string[] {
  const trainable =
    run.trainable !== run.params ? ` (trainable ${formatCount(run.trainable)})` : "";
  const lines = [
    `output **${shapeText(run.shape)}**`,
    `params ${formatCount(run.params)}${trainable}`,
    `MACs ${macsText(run.macs)}`,
  ];
  if (run.groups.length) {
    const split = run.groups.filter((g) => g !== 1);
    const resolved = split.length
      ? `${split.join(", ")} groups${split.length < run.groups.length ? " (the other convolutions regular)" : ""}`
      : "1 group (regular)";
    lines.push(`parts${partsText ? ` = \`${partsText}\`` : ""} → ${resolved}`);
  }
  return lines;
}

function figuresMarkdown(
  runs: readonly RunFigures[],
  partsText: string | undefined,
  network: string,
): string {
  if (runs.length === 0)
    return `not built in network \`${network}\` (a branch not taken, or an identity)`;
  if (runs.length === 1) return runLines(runs[0]!, partsText).join(" · ");
  const same = runs.every(
    (r) =>
      shapeText(r.shape) === shapeText(runs[0]!.shape) &&
      r.params === runs[0]!.params &&
      r.macs === runs[0]!.macs,
  );
  const params = runs.reduce((s, r) => s + r.params, 0);
  const macs = runs.reduce((s, r) => s + r.macs, 0);
  const head = `built ${runs.length} times in \`${network}\`; together params ${formatCount(params)} · MACs ${macsText(macs)}`;
  if (same) return `${head}\n\neach: ${runLines(runs[0]!, partsText).join(" · ")}`;
  const shown = runs
    .slice(0, 8)
    .map((r) => `- \`${r.name}\`: ${runLines(r, partsText).join(" · ")}`);
  if (runs.length > shown.length) shown.push(`- … and ${runs.length - shown.length} more`);
  return [head, "", ...shown].join("\n");
}

function signature(kind: string, d: BlockDecl | NetworkDecl): string {
  const params = d.params.map((p: Param) =>
    p.default ? `${p.name.name} = ${printExpr(p.default)}` : p.name.name,
  );
  return `${kind} ${d.name.name}(${params.join(", ")})`;
}

function totalsMarkdown(g: IRGraph): string {
  const t = g.totals;
  return [
    `output **${shapeText(g.nodes[g.output]!.shape)}**`,
    `params ${formatCount(t.params.total)} (trainable ${formatCount(t.params.trainable)})`,
    `MACs ${macsText(t.macs)}`,
  ].join(" · ");
}

/** Hover on a layer or block call, a block or network name. */
export function hover(analysis: Analysis, pos: Position): Hover | null {
  const root = analysis.program.loaded.root;
  if (!root) return null;
  let best: LayerStmt | undefined;
  let inNetwork: NetworkDecl | undefined;
  for (const n of nodesOf(root.program)) {
    if (n.kind === "NetworkDecl" && contains(n.span, pos)) inNetwork = n;
    if (
      n.kind === "Layer" &&
      contains(n.span, pos) &&
      (!best || extent(n.span) <= extent(best.span))
    )
      best = n;
    if ((n.kind === "BlockDecl" || n.kind === "NetworkDecl") && contains(n.name.span, pos)) {
      const parts = ["```arch", signature(n.kind === "BlockDecl" ? "block" : "network", n), "```"];
      const f = analysis.figures();
      if (n.kind === "NetworkDecl") {
        if (f.ok && f.network === n) parts.push(totalsMarkdown(f.graph));
        else if (!f.ok) parts.push(f.reason);
        else parts.push(`figures are shown for network \`${f.network.name.name}\``);
      }
      return {
        contents: { kind: "markdown", value: parts.join("\n") },
        range: rangeOf(n.name.span),
      };
    }
  }
  const imp = root.program.imports.find((i) => contains(i.path.span, pos));
  if (imp) return importHover(analysis, imp.path.value, root.absPath, rangeOf(imp.path.span));
  if (!best) return null;
  const stmt = best;
  const name = stmt.callee.name;
  const op = ops.get(name);
  // On an argument's name: what that argument is.
  const arg = stmt.args.find((a) => a.name && contains(a.name.span, pos));
  if (arg?.name) {
    const attr = op?.attrs.find((a) => a.name === arg.name!.name);
    const param = analysis.program.table.blocks
      .get(name)
      ?.params.find((p) => p.name.name === arg.name!.name);
    const text = attr
      ? `**${name}** \`${attr.name}\`: ${attr.doc}; ${kindWords[attr.kind]}`
      : param
        ? `parameter \`${param.name.name}\` of block **${name}**${param.default ? `, default \`${printExpr(param.default)}\`` : " (required)"}`
        : undefined;
    if (text) return { contents: { kind: "markdown", value: text }, range: rangeOf(arg.name.span) };
  }
  const block = op ? undefined : analysis.program.table.blocks.get(name);
  const head = op
    ? [`**${name}**: ${op.doc}`]
    : block
      ? ["```arch", signature("block", block), "```"]
      : [`unknown layer or block \`${name}\``];
  const f = analysis.figures();
  if (!f.ok) return markdown([...head, "", f.reason], stmt);
  const partsText = writtenParts(stmt, block, root.text);
  if (inNetwork && inNetwork !== f.network) {
    const other = `figures are shown for network \`${f.network.name.name}\`; set archc.network to ${inNetwork.name.name} for these`;
    return markdown([...head, "", other], stmt);
  }
  const runs = runsOf(analysis, stmt) ?? [];
  const where = `network \`${f.network.name.name}\``;
  return markdown(
    [...head, "", `in ${where}: ${figuresMarkdown(runs, partsText, f.network.name.name)}`],
    stmt,
  );
}

/** The module an import names: where it is and what it declares. */
function importHover(analysis: Analysis, spec: string, from: string, range: Range): Hover {
  const target = importTarget(spec, from, analysis.host);
  const mod = analysis.program.loaded.modules.find((m) => m.absPath === target);
  const lines = [`\`${spec}\` → ${mod?.file ?? target}`];
  if (mod) {
    for (const kind of ["BlockDecl", "NetworkDecl", "TrainDecl", "ExperimentDecl"] as const) {
      const names = mod.program.decls.flatMap((d) => (d.kind === kind ? [d.name.name] : []));
      if (names.length) lines.push("", `${declWords[kind]}: ${names.join(", ")}`);
    }
  } else lines.push("", "not loaded (see the diagnostics)");
  return { contents: { kind: "markdown", value: lines.join("\n") }, range };
}

const declWords = {
  BlockDecl: "blocks",
  NetworkDecl: "networks",
  TrainDecl: "train configs",
  ExperimentDecl: "experiments",
} as const;

function markdown(lines: string[], stmt: LayerStmt): Hover {
  return {
    contents: { kind: "markdown", value: lines.join("\n") },
    range: rangeOf(stmt.callee.span),
  };
}

/** The partition argument as written at the call: by keyword, or by position for a block. */
function writtenParts(
  stmt: LayerStmt,
  block: BlockDecl | undefined,
  text: string,
): string | undefined {
  const slice = (a: { value: { span: LayerStmt["span"] } }) =>
    text.slice(a.value.span.start.offset, a.value.span.end.offset);
  const named = stmt.args.find((a) => a.name?.name === "parts" || a.name?.name === "width");
  if (named) return `${named.name!.name === "width" ? "width " : ""}${slice(named)}`;
  const index = block?.params.findIndex((p) => p.name.name === "parts") ?? -1;
  const positional = stmt.args.filter((a) => !a.name);
  const arg = index >= 0 ? positional[index] : undefined;
  if (arg) return slice(arg);
  const param = index >= 0 ? block?.params[index] : undefined;
  return param?.default ? `${printExpr(param.default)} (default)` : undefined;
}
