import type { Expr } from "../../../grammar/ast.js";
import { evaluate } from "../elaborate/evaluate.js";
import { Scope } from "../elaborate/scope.js";
import type { Value } from "../elaborate/values.js";

/**
 * A sweep axis's values as written: a list, a range (`16..64 step 16`), or a list whose items
 * may be ranges (`[1, 2, 8..32 step 8]`, flattened in order). Only a range is spread: a list
 * item stays one value, so an axis over shapes (`[[32, 32, 3], [64, 64, 3]]`) keeps its shapes.
 * `all` stays a symbol for the planner to expand against the network.
 */
export function sweepValues(e: Expr): Value[] {
  if (e.kind === "Name" && e.name === "all") return [{ t: "symbol", v: "all" }];
  const items = e.kind === "List" ? e.items : [e];
  return items.flatMap((item): Value[] => {
    const v = evaluate(item, new Scope());
    if (item.kind === "Range" && v.t === "list") return [...v.items];
    // A bare single value is a one-point axis; a bare list (not `[...]`) is its values.
    if (e.kind !== "List" && v.t === "list") return [...v.items];
    return [v];
  });
}
