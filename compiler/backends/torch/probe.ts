import type { Json } from "../../language/elaborate/values.js";
import type { NetworkDecl } from "../../../grammar/ast.js";
import { buildNetwork, parseSets, type Program } from "../../language/program.js";
import type { Probe } from "./bind.js";

/**
 * A probe for bind.ts: the network elaborated again with one argument changed (the others as
 * given), or undefined where that value does not build.
 */
export function probeFor(program: Program, network: NetworkDecl, sets: readonly string[]): Probe {
  return (name: string, value: Json) => {
    const text = typeof value === "boolean" || typeof value === "number" ? String(value) : value;
    if (typeof text !== "string") return undefined;
    const parsed = parseSets([
      ...sets.filter((s) => s.split("=")[0]!.trim() !== name),
      `${name}=${text}`,
    ]);
    if (parsed.diagnostics.length) return undefined;
    const r = buildNetwork(program, network, parsed.args);
    return r.ok ? r.graph : undefined;
  };
}
