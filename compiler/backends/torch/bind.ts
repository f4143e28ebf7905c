import type { Json } from "../../language/elaborate/values.js";
import { channelsIn, partitionedChannels } from "../../language/ir/geometry.js";
import type { IRGraph, IRNode } from "../../language/ir/types.js";

/**
 * Which network arguments a generated module can take at run time, and where each lands.
 *
 * The module's structure is the elaborated graph; an argument can stay a constructor parameter
 * only where changing it leaves that structure alone and changes attributes the module can
 * compute in Python: a partition count (`groups_of(parts, channels)`), the classifier's units, a
 * dropout rate, an activation name. That is decided by elaborating the network again at other
 * values of each argument (the probe) and explaining every difference; anything unexplained
 * (another node count, other shapes, `residual = false` dropping an add) freezes the argument at
 * its value.
 */

export type Probe = (name: string, value: Json) => IRGraph | undefined;

/** Attribute of one node that follows a network argument. */
export type BoundAttr = "groups" | "units" | "rate" | "mid" | "activation";

export interface Bindings {
  /** Arguments that stay constructor parameters, with their values here (the defaults). */
  readonly params: ReadonlyMap<string, Json>;
  /** Per node id: attribute -> argument name. */
  readonly nodes: ReadonlyMap<number, ReadonlyMap<BoundAttr, string>>;
  /** Arguments frozen at their value, with why (for the module's docstring). */
  readonly frozen: ReadonlyMap<string, string>;
}

const activationWords = ["none", "relu", "elu", "tanh", "sigmoid", "swish"];

function candidates(value: Json): Json[] {
  if (typeof value === "number") {
    // Counts, partitions and rates alike: whatever does not build is skipped.
    const rates = [0.25, 0.5, value / 2, Math.min(0.9, value * 1.5)];
    if (Number.isInteger(value)) return [1, 2, 3, value + 1, value * 2, "depthwise", ...rates];
    return rates;
  }
  if (typeof value === "string") {
    if (value === "depthwise" || value === "regular") return [1, 2, 4, "regular", "depthwise"];
    if (activationWords.includes(value) || value === "linear") return activationWords;
    return [];
  }
  if (typeof value === "boolean") return [!value];
  return [];
}

/** archc's reading of a partition value, as groups_of computes it in Python. */
export function groupsOf(parts: Json, channels: number): number | undefined {
  if (parts === "depthwise") return channels;
  if (parts === "regular") return 1;
  return typeof parts === "number" && Number.isInteger(parts) ? parts : undefined;
}

/** The channels a conv's or sepconv's spatial step runs over (a shuffle's: its input's). */
export function spatialChannels(graph: IRGraph, node: IRNode): number {
  return node.op === "conv" || node.op === "sepconv"
    ? partitionedChannels(graph, node)
    : channelsIn(graph, node);
}

/** The value an attribute would take for an argument value, or undefined where it cannot follow. */
function follows(
  graph: IRGraph,
  node: IRNode,
  attr: BoundAttr,
  value: Json,
): number | string | undefined {
  switch (attr) {
    case "groups":
      return groupsOf(value, spatialChannels(graph, node));
    case "units":
    case "rate":
      return typeof value === "number" ? value : undefined;
    case "mid":
    case "activation":
      return typeof value === "string" ? value : undefined;
  }
}

function attrOf(node: IRNode, attr: string): unknown {
  return (node.attrs as Record<string, unknown>)[attr];
}

const boundable: Record<string, readonly BoundAttr[]> = {
  conv: ["groups", "activation"],
  sepconv: ["groups", "mid", "activation"],
  dense: ["units", "activation"],
  dropout: ["rate"],
  droppath: ["rate"],
  act: ["activation"],
  shuffle: ["groups"],
};

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The attributes of `base` that differ in `other` and follow the argument; undefined when the
 * graphs differ in any way that cannot be explained so.
 */
function explain(
  base: IRGraph,
  other: IRGraph,
  value0: Json,
  value1: Json,
): Map<number, Set<BoundAttr>> | undefined {
  if (base.nodes.length !== other.nodes.length) return undefined;
  const out = new Map<number, Set<BoundAttr>>();
  const reshaped = new Set<number>();
  for (let i = 0; i < base.nodes.length; i++) {
    const a = base.nodes[i]!;
    const b = other.nodes[i]!;
    if (a.op !== b.op || a.name !== b.name || !same(a.inputs, b.inputs)) return undefined;
    const keys = Object.keys(a.attrs).filter((k) => !same(attrOf(a, k), attrOf(b, k)));
    for (const k of keys) {
      const attr = k as BoundAttr;
      if (!boundable[a.op]?.includes(attr)) return undefined;
      if (attrOf(a, k) !== follows(base, a, attr, value0)) return undefined;
      if (attrOf(b, k) !== follows(other, b, attr, value1)) return undefined;
      if (!out.has(i)) out.set(i, new Set());
      out.get(i)!.add(attr);
    }
    const inputReshaped = a.inputs.some((j) => reshaped.has(j));
    // A new shape may start only at a dense layer whose units follow the argument, and pass only
    // through layers that do not depend on their input's size.
    if (inputReshaped && a.op !== "act" && a.op !== "dropout" && a.op !== "droppath")
      return undefined;
    if (!same(a.shape, b.shape)) {
      const starts = a.op === "dense" && keys.includes("units");
      if (!starts && !inputReshaped) return undefined;
      reshaped.add(i);
    }
  }
  return out;
}

export function bindArguments(graph: IRGraph, probe: Probe | undefined): Bindings {
  const params = new Map<string, Json>();
  const frozen = new Map<string, string>();
  const nodes = new Map<number, Map<BoundAttr, string>>();
  for (const [name, value] of Object.entries(graph.args)) {
    if (!probe) {
      frozen.set(name, "compiled without the spec's blocks");
      continue;
    }
    const found = new Map<number, Set<BoundAttr>>();
    const graphs: { g: IRGraph; v: Json }[] = [];
    let structural = false;
    for (const v of candidates(value)) {
      if (same(v, value)) continue;
      const g = probe(name, v);
      if (!g) continue;
      const diff = explain(graph, g, value, v);
      if (!diff) {
        structural = true;
        break;
      }
      graphs.push({ g, v });
      for (const [i, attrs] of diff) {
        if (!found.has(i)) found.set(i, new Set());
        for (const a of attrs) found.get(i)!.add(a);
      }
    }
    if (structural) {
      frozen.set(name, "it changes the network's structure or shapes");
      continue;
    }
    if (found.size === 0) {
      frozen.set(name, graphs.length ? "no layer follows it" : "no other value builds");
      continue;
    }
    // Every attribute found must follow the argument at every value tried, not only where it moved.
    const holds = [...found].every(([i, attrs]) =>
      [...attrs].every((attr) =>
        graphs.every(({ g, v }) => attrOf(g.nodes[i]!, attr) === follows(g, g.nodes[i]!, attr, v)),
      ),
    );
    const clash = [...found].some(([i, attrs]) => [...attrs].some((a) => nodes.get(i)?.has(a)));
    if (!holds || clash) {
      frozen.set(name, "its layers do not follow it the same way at every value");
      continue;
    }
    params.set(name, value);
    for (const [i, attrs] of found) {
      if (!nodes.has(i)) nodes.set(i, new Map());
      for (const a of attrs) nodes.get(i)!.set(a, name);
    }
  }
  return { params, nodes, frozen };
}
