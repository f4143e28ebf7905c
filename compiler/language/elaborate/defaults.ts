import type { CallExpr, LayerStmt } from "../../../grammar/ast.js";
import { fail } from "../../../grammar/diagnostic.js";
import { didYouMean } from "../suggest.js";
import { bindOpArgs } from "./bind.js";
import { ops } from "./ops/catalogue.js";
import type { BoundAttr } from "./ops/spec.js";
import type { Scope } from "./scope.js";

/** The word of the statement `defaults bn(epsilon = 1e-5, momentum = 0.9)`. */
export const defaultsWord = "defaults";

/** What `defaults` statements in force set: per op, the attributes a layer takes when not given. */
export type OpDefaults = ReadonlyMap<string, ReadonlyMap<string, BoundAttr>>;

/**
 * The layer call a `defaults` statement names (`bn(epsilon = 1e-5)`), or a diagnostic-shaped
 * problem. Shared by the name checks (resolve/names.ts) and the elaborator, so both refuse the same.
 */
export function defaultsCall(
  stmt: LayerStmt,
): { call: CallExpr } | { problem: { span: LayerStmt["span"]; message: string; hint: string } } {
  const hint =
    "write defaults LAYER(attribute = value, ...), e.g. defaults bn(epsilon = 1e-5, momentum = 0.9)";
  const [arg, extra] = stmt.args;
  if (!arg || extra || arg.name || arg.value.kind !== "Call")
    return {
      problem: {
        span: (extra ?? arg ?? stmt).span,
        message: "defaults takes one layer with its attributes",
        hint,
      },
    };
  const call = arg.value;
  if (!ops.has(call.callee.name))
    return {
      problem: {
        span: call.callee.span,
        message: `defaults: '${call.callee.name}' is not a layer`,
        hint:
          didYouMean(call.callee.name, [...ops.keys()]) ??
          "defaults sets attributes of a built-in layer (bn, conv, ...), not of a block",
      },
    };
  const positional = call.args.find((a) => !a.name);
  if (positional)
    return {
      problem: {
        span: positional.span,
        message: `defaults: name the attribute this value sets`,
        hint,
      },
    };
  return { call };
}

/**
 * Evaluates a `defaults` statement: the defaults in force afterwards. Its attributes are bound
 * and checked as the layer's own would be, with the diagnostics a layer's get.
 */
export function applyDefaults(stmt: LayerStmt, scope: Scope, current: OpDefaults): OpDefaults {
  const r = defaultsCall(stmt);
  if ("problem" in r) fail("E0300", r.problem.span, r.problem.message, r.problem.hint);
  const name = r.call.callee.name;
  const bound = bindOpArgs(ops.get(name)!, r.call, scope, `defaults ${name}`);
  const merged = new Map(current.get(name));
  for (const [k, v] of bound) merged.set(k, v);
  return new Map(current).set(name, merged);
}
