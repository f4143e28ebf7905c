import type { IRGraph, IRNode } from "../../ir/types.js";
import { describeOp, formatCount } from "../../summary.js";

export interface DotOptions {
  /** collapsed: one box per block instance; expanded: every layer, inside nested block frames. */
  readonly mode: "collapsed" | "expanded";
  /** How many levels of block nesting a collapsed box stands for (default 1: top-level blocks). */
  readonly depth?: number;
}

function esc(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/</g, "\\<").replace(/>/g, "\\>");
}

const shapeText = (n: IRNode) => n.shape.join("x");

function partsText(g: IRGraph, n: IRNode): string | undefined {
  if (n.op !== "conv" && n.op !== "sepconv") return undefined;
  const groups = n.attrs.groups;
  if (groups === 1) return undefined;
  const input = g.nodes[n.inputs[0]!]!;
  const cin = input.shape[input.shape.length - 1]!;
  const spatialIn =
    n.op === "sepconv" && n.attrs.order === "pointwise_first" ? n.attrs.filters : cin;
  return groups === spatialIn ? "parts = depthwise" : `parts = ${groups}`;
}

/** Name, op (when it says more than the name) and partition: one line each. */
function layerLabel(g: IRGraph, n: IRNode, name: string): string {
  const op = describeOp(n);
  const parts = partsText(g, n);
  return [name, ...(op !== name ? [op] : []), ...(parts ? [parts] : [])].map(esc).join("\\n");
}

/** The block-instance path of a layer: `entry_1/sep_unit/sepconv` -> [entry_1, sep_unit]. */
const pathOf = (n: IRNode) => n.name.split("/").slice(0, -1);

/**
 * The network as a Graphviz digraph, top to bottom, with tensor shapes on the edges. Collapsed,
 * each block instance is one box that says how many layers and parameters it holds.
 */
export function toDot(g: IRGraph, opts: DotOptions): string {
  const out = [
    `digraph "${esc(g.network)}" {`,
    '  graph [rankdir=TB, fontname="Helvetica", fontsize=11, nodesep=0.25, ranksep=0.3];',
    '  node [shape=box, style="rounded,filled", fillcolor="#f4f6f8", color="#8a97a5", fontname="Helvetica", fontsize=10];',
    '  edge [color="#6b7785", fontname="Helvetica", fontsize=8, fontcolor="#4a5561", arrowsize=0.6];',
  ];
  const depth = opts.depth ?? 1;
  const boxOf = new Map<number, string>();
  if (opts.mode === "collapsed") {
    const groups = new Map<string, IRNode[]>();
    for (const n of g.nodes) {
      const path = pathOf(n).slice(0, depth);
      const key = path.length ? `block:${path.join("/")}` : `layer:${n.name}`;
      boxOf.set(n.id, key);
      groups.set(key, [...(groups.get(key) ?? []), n]);
    }
    for (const [key, nodes] of groups) {
      const last = nodes[nodes.length - 1]!;
      if (key.startsWith("layer:")) {
        out.push(`  "${esc(key)}" [label="${layerLabel(g, last, last.name)}"];`);
      } else {
        const params = nodes.reduce((s, n) => s + n.params.trainable + n.params.nonTrainable, 0);
        const parts = [
          ...new Set(nodes.map((n) => partsText(g, n)).filter((p): p is string => !!p)),
        ];
        const lines = [
          key.slice(6),
          `${nodes.length} layers, ${formatCount(params)} params`,
          ...(parts.length ? [parts.join(", ")] : []),
        ];
        out.push(
          `  "${esc(key)}" [label="${lines.map(esc).join("\\n")}", fillcolor="#dde8f3", color="#4f6f8f", penwidth=1.3];`,
        );
      }
    }
  } else {
    // Nested clusters, one per block instance, opened and closed as the path changes.
    const open: string[] = [];
    const nodes = [...g.nodes];
    for (const n of nodes) {
      boxOf.set(n.id, `layer:${n.name}`);
      const path = pathOf(n);
      let common = 0;
      while (common < open.length && common < path.length && open[common] === path[common])
        common++;
      while (open.length > common) {
        open.pop();
        out.push(`${"  ".repeat(open.length + 1)}}`);
      }
      while (open.length < path.length) {
        const id = path.slice(0, open.length + 1).join("/");
        out.push(`${"  ".repeat(open.length + 1)}subgraph "cluster_${esc(id)}" {`);
        open.push(path[open.length]!);
        out.push(
          `${"  ".repeat(open.length + 1)}label="${esc(open[open.length - 1]!)}"; style="rounded"; color="#4f6f8f"; fontcolor="#2f4f6f";`,
        );
      }
      out.push(
        `${"  ".repeat(open.length + 1)}"${esc(`layer:${n.name}`)}" [label="${layerLabel(g, n, n.name.split("/").pop()!)}"];`,
      );
    }
    while (open.length) {
      open.pop();
      out.push(`${"  ".repeat(open.length + 1)}}`);
    }
  }
  const seen = new Set<string>();
  for (const n of g.nodes) {
    for (const i of n.inputs) {
      const from = boxOf.get(i)!;
      const to = boxOf.get(n.id)!;
      const key = `${from}->${to}`;
      if (from === to || seen.has(key)) continue;
      seen.add(key);
      out.push(`  "${esc(from)}" -> "${esc(to)}" [label=" ${shapeText(g.nodes[i]!)}"];`);
    }
  }
  out.push("}");
  return out.join("\n") + "\n";
}
