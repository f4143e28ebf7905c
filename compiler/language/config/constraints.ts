import type { Expr } from "../../../grammar/ast.js";
import { parseExpression } from "../../../grammar/parse.js";
import { syntheticSpan, type Span } from "../../../grammar/span.js";
import { error, type Diagnostic } from "../../../grammar/diagnostic.js";
import { didYouMean } from "../suggest.js";

/** The exact costs a constraint may bound: known from elaboration, without building a model. */
export const costs = ["params", "trainable", "macs"] as const;
export type Cost = (typeof costs)[number];
export type Comparison = "<" | "<=" | ">" | ">=";

/** `macs <= 20M`: a bound on one exact cost. */
export interface Constraint {
  readonly cost: Cost;
  readonly op: Comparison;
  readonly bound: number;
  /** As written, for messages. */
  readonly text: string;
  readonly span: Span;
}

export type Costs = Readonly<Record<Cost, number>>;

export function holds(c: Constraint, x: Costs): boolean {
  const v = x[c.cost];
  switch (c.op) {
    case "<":
      return v < c.bound;
    case "<=":
      return v <= c.bound;
    case ">":
      return v > c.bound;
    case ">=":
      return v >= c.bound;
  }
}

const flip: Record<Comparison, Comparison> = { "<": ">", "<=": ">=", ">": "<", ">=": "<=" };

/**
 * A constraint from its expression (`macs <= 20M`, `1M < params`), or E0606 saying what a
 * constraint looks like. `text` is what the user wrote.
 */
export function constraintOf(e: Expr, text: string): Constraint | Diagnostic {
  const usage =
    "a constraint compares one cost (params, trainable, macs) with a number, e.g. macs <= 20M";
  if (e.kind !== "Binary" || !(e.op in flip))
    return error("E0606", e.span, `'${text}' is not a constraint`, usage);
  const named = (x: Expr) => (x.kind === "Name" ? x : undefined);
  const number = (x: Expr) =>
    x.kind === "Number"
      ? x.value
      : x.kind === "Unary" && x.operand.kind === "Number"
        ? -x.operand.value
        : undefined;
  const op = e.op as Comparison;
  const [name, value, cmp] = named(e.left)
    ? [named(e.left)!, number(e.right), op]
    : [named(e.right), number(e.left), flip[op]];
  if (!name) return error("E0606", e.span, `'${text}' bounds no cost`, usage);
  if (!(costs as readonly string[]).includes(name.name))
    return error(
      "E0606",
      name.span,
      `'${name.name}' is not a cost a constraint can bound`,
      didYouMean(name.name, costs) ?? `costs: ${costs.join(", ")}`,
    );
  if (value === undefined)
    return error("E0606", e.span, `'${text}' must compare ${name.name} with a number`, usage);
  return { cost: name.name as Cost, op: cmp, bound: value, text, span: e.span };
}

/** `--where 'macs <= 20M'` as a constraint; its diagnostics point at the flag. */
export function parseWhere(text: string): Constraint | Diagnostic {
  const file = `--where ${text}`;
  const parsed = parseExpression(file, text);
  if (parsed.diagnostics.length)
    return {
      ...parsed.diagnostics[0]!,
      code: "E0606",
      message: `bad --where '${text}': ${parsed.diagnostics[0]!.message}`,
    };
  const c = constraintOf(parsed.expr, text.trim());
  return "code" in c ? { ...c, span: syntheticSpan(file) } : c;
}

/** A cost bound exactly, as people read it: `20,123,456`. */
export function showBound(n: number): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: 6 });
}
