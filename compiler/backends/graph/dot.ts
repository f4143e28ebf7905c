import { callText, instancePath, localName } from "../../language/ir/blocks.js";
import { isDepthwise } from "../../language/ir/geometry.js";
import type { BlockCall, IRGraph, IRNode } from "../../language/ir/types.js";
import { describeOp, formatCount } from "../summary/summary.js";

export interface DotOptions {
  /** collapsed: one box per block instance; expanded: every layer, inside nested block frames. */
  readonly mode: "collapsed" | "expanded";
  /**
   * Collapsed only: the block nesting level a box stands for (default 1, the top-level
   * instances). Levels above it are drawn as frames around the boxes. Ignored when expanded.
   */
  readonly depth?: number;
}

/**
 * Escapes text for a double-quoted DOT string. Backslashes first, so the ones added for quotes
 * survive; `<` and `>` too, since they delimit fields should a label ever reach a record shape.
 */
export function escapeDot(s: string): string {
  return s.replace(/[\\"<>]/g, (c) => `\\${c}`);
}

const q = (s: string) => `"${escapeDot(s)}"`;

const shapeText = (n: IRNode) => n.shape.join("x");

/** `parts = N` for a partitioned convolution, `parts = depthwise` at one channel per part. */
function partsText(g: IRGraph, n: IRNode): string | undefined {
  if (n.op !== "conv" && n.op !== "sepconv") return undefined;
  const groups = n.attrs.groups;
  // A regular convolution is the common case; saying so on every box would be noise.
  if (groups === 1) return undefined;
  return isDepthwise(g, n) ? "parts = depthwise" : `parts = ${groups}`;
}

/** One drawn node: a single layer, or a collapsed block instance. */
interface Box {
  readonly id: string;
  readonly kind: "layer" | "block";
  /** The layer, or the block instance, without the frames around it. */
  readonly name: string;
  /** The block instances (outermost first) whose frames the box sits inside. */
  readonly frame: readonly string[];
  /** A block's call: which block, with which arguments (a layer has none). */
  readonly call?: BlockCall;
  readonly nodes: IRNode[];
}

/** Assigns every IR node to the box that draws it; boxes come in order of first appearance. */
function boxes(g: IRGraph, opts: DotOptions): { boxes: Box[]; boxOf: Map<number, Box> } {
  const depth = opts.mode === "expanded" ? Infinity : (opts.depth ?? 1);
  // The CLI checks --depth; this guards library callers, for whom a fraction would mis-slice.
  if (depth !== Infinity && !(Number.isInteger(depth) && depth >= 1))
    throw new RangeError(`depth must be a positive integer, not ${depth}`);
  const byId = new Map<string, Box>();
  const boxOf = new Map<number, Box>();
  for (const n of g.nodes) {
    const path = instancePath(n);
    const collapsed = path.length >= depth;
    // Ids carry the kind so a layer and a block with the same name cannot meet.
    const id = collapsed ? `block:${path.slice(0, depth).join("/")}` : `layer:${n.name}`;
    let box = byId.get(id);
    if (!box) {
      const frame = collapsed ? path.slice(0, depth - 1) : path;
      const name = collapsed ? path[depth - 1]! : localName(n);
      box = collapsed
        ? { id, kind: "block", name, frame, call: n.blocks[depth - 1]!, nodes: [] }
        : { id, kind: "layer", name, frame, nodes: [] };
      byId.set(id, box);
    }
    box.nodes.push(n);
    boxOf.set(n.id, box);
  }
  return { boxes: [...byId.values()], boxOf };
}

/** How many boxes `toDot` draws with these options: what `archc graph` reports. */
export function boxCount(g: IRGraph, opts: DotOptions): number {
  return boxes(g, opts).boxes.length;
}

function boxLabel(g: IRGraph, box: Box): string {
  if (box.kind === "layer") {
    const n = box.nodes[0]!;
    const op = describeOp(n);
    const parts = partsText(g, n);
    // `bn` named `bn` would say the same thing twice.
    return [box.name, ...(op !== box.name ? [op] : []), ...(parts ? [parts] : [])]
      .map(escapeDot)
      .join("\\n");
  }
  const nodes = box.nodes;
  const params = nodes.reduce((s, n) => s + n.params.trainable + n.params.nonTrainable, 0);
  const parts = [...new Set(nodes.flatMap((n) => partsText(g, n) ?? []))];
  // Nodes are in topological order, so the last one is what the block hands on.
  const out = shapeText(nodes[nodes.length - 1]!);
  return [
    box.name,
    // Which block and arguments: two instances of one block can differ in every figure below.
    callText(box.call!),
    `${nodes.length} ${nodes.length === 1 ? "layer" : "layers"}, ${formatCount(params)} params`,
    `out ${out}`,
    ...(parts.length ? [parts.join(", ")] : []),
  ]
    .map(escapeDot)
    .join("\\n");
}

/** A frame (cluster) of block instances: the boxes and inner frames it holds, in order. */
interface Frame {
  readonly path: readonly string[];
  /** The call that made this block instance (none for the root). */
  readonly call?: BlockCall;
  readonly items: (Frame | Box)[];
  readonly inner: Map<string, Frame>;
}

/**
 * Builds the frame tree. Each frame is written once, even when the topological order leaves
 * and re-enters it (a residual branch), so the cluster count is the instance count.
 */
function frameTree(all: readonly Box[]): Frame {
  const root: Frame = { path: [], items: [], inner: new Map() };
  for (const box of all) {
    let f = root;
    for (const [i, part] of box.frame.entries()) {
      let next = f.inner.get(part);
      if (!next) {
        const call = box.nodes[0]!.blocks[i]!;
        next = { path: [...f.path, part], call, items: [], inner: new Map() };
        f.inner.set(part, next);
        f.items.push(next);
      }
      f = next;
    }
    f.items.push(box);
  }
  return root;
}

/**
 * The network as a Graphviz digraph, top to bottom, with tensor shapes on the edges. Collapsed,
 * each block instance is one box that says how many layers and parameters it holds and what
 * shape it outputs; expanded, every layer is a box inside one frame per block instance.
 */
export function toDot(g: IRGraph, opts: DotOptions): string {
  const { boxes: all, boxOf } = boxes(g, opts);
  const out = [
    `digraph ${q(g.network)} {`,
    '  graph [rankdir=TB, fontname="Helvetica", fontsize=11, nodesep=0.25, ranksep=0.3];',
    '  node [shape=box, style="rounded,filled", fillcolor="#f4f6f8", color="#8a97a5", fontname="Helvetica", fontsize=10, margin="0.15,0.06"];',
    '  edge [color="#6b7785", fontname="Helvetica", fontsize=8, fontcolor="#4a5561", arrowsize=0.6];',
  ];
  const write = (f: Frame, indent: string): void => {
    for (const item of f.items) {
      if ("items" in item) {
        out.push(`${indent}subgraph ${q(`cluster_${item.path.join("/")}`)} {`);
        const label = [item.path[item.path.length - 1]!, callText(item.call!)].map(escapeDot);
        out.push(
          `${indent}  label="${label.join("\\n")}"; style="rounded"; color="#4f6f8f"; fontcolor="#2f4f6f";`,
        );
        write(item, indent + "  ");
        out.push(`${indent}}`);
      } else {
        // Collapsed blocks are tinted so they read as "more inside" next to single layers.
        const style =
          item.kind === "block" ? ', fillcolor="#dde8f3", color="#4f6f8f", penwidth=1.3' : "";
        out.push(`${indent}${q(item.id)} [label="${boxLabel(g, item)}"${style}];`);
      }
    }
  };
  write(frameTree(all), "  ");
  // One edge per pair of boxes; distinct tensors between the same pair share its label.
  const edges = new Map<string, { from: Box; to: Box; shapes: Set<string> }>();
  for (const n of g.nodes) {
    const to = boxOf.get(n.id)!;
    for (const i of n.inputs) {
      const from = boxOf.get(i)!;
      if (from === to) continue; // inside a collapsed box
      const key = `${from.id}\u0000${to.id}`;
      let e = edges.get(key);
      if (!e) edges.set(key, (e = { from, to, shapes: new Set() }));
      e.shapes.add(shapeText(g.nodes[i]!));
    }
  }
  for (const { from, to, shapes } of edges.values()) {
    // The leading space keeps the label off the line Graphviz draws it beside.
    out.push(`  ${q(from.id)} -> ${q(to.id)} [label=${q(` ${[...shapes].join(", ")}`)}];`);
  }
  out.push("}");
  return out.join("\n") + "\n";
}
