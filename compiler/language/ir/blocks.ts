import type { BlockCall, IRNode, Json } from "./types.js";

/**
 * The block instances a node sits in, outermost first (`entry_1/sep_unit/sepconv` sits in
 * `entry_1` and `sep_unit`), from the calls the IR records, never from the layer's name.
 */
export function instancePath(node: IRNode, depth = node.blocks.length): string[] {
  return node.blocks.slice(0, depth).map((b) => b.instance);
}

/** The node's name inside its innermost block instance: `sepconv` for `entry_1/sep_unit/sepconv`. */
export function localName(node: IRNode): string {
  const path = instancePath(node).join("/");
  return path ? node.name.slice(path.length + 1) : node.name;
}

/**
 * How deep in `node.blocks` the call written at `at` is, or -1 when the node did not come from
 * it. Blocks cannot recurse, so a call site appears at most once on a node's chain.
 */
export function callDepth(
  node: IRNode,
  at: { readonly file: string; readonly line: number; readonly column: number },
): number {
  return node.blocks.findIndex(
    (b) => b.call.file === at.file && b.call.line === at.line && b.call.column === at.column,
  );
}

/** A block call as the language would write it, every argument by name: `stage(filters = 64, parts = 4)`. */
export function callText(call: BlockCall): string {
  const args = Object.entries(call.args).map(([k, v]) => `${k} = ${jsonText(v)}`);
  return `${call.block}(${args.join(", ")})`;
}

/** An argument value in the language's notation (elaborate/values.ts' toJson, read back). */
function jsonText(v: Json): string {
  if (v === null) return "none";
  if (Array.isArray(v)) return `[${v.map(jsonText).join(", ")}]`;
  if (typeof v !== "object") return String(v);
  if (Array.isArray(v.dims) && typeof v.stride === "number")
    return `${v.dims.join("x")}/${v.stride}`;
  if (typeof v.amount === "number" && typeof v.unit === "string") return `${v.amount} ${v.unit}`;
  if (typeof v.call === "string") {
    const { call, positional, ...named } = v;
    const args = [
      ...(Array.isArray(positional) ? positional.map(jsonText) : []),
      ...Object.entries(named).map(([k, a]) => `${k} = ${jsonText(a)}`),
    ];
    return `${call}(${args.join(", ")})`;
  }
  return JSON.stringify(v);
}
