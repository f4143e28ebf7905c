import type { Expr, TimeUnit } from "../../../grammar/ast.js";
import { printExpr } from "../../../grammar/printer.js";
import { parseExpression } from "../../../grammar/parse.js";
import { syntheticSpan, type Span } from "../../../grammar/span.js";
import { error, type Diagnostic } from "../../../grammar/diagnostic.js";
import { didYouMean } from "../suggest.js";

/** The exact costs a constraint may bound: known from elaboration, without building a model. */
export const costs = ["params", "trainable", "macs"] as const;
export type Cost = (typeof costs)[number];
/** Costs known only by measuring a built model: `latency`, a time. */
export const measuredCosts = ["latency"] as const;
export type MeasuredCost = (typeof measuredCosts)[number];
export type Comparison = "<" | "<=" | ">" | ">=";

interface Bound {
  readonly op: Comparison;
  /** Latency: milliseconds. */
  readonly bound: number;
  /** As written, for messages. */
  readonly text: string;
  readonly span: Span;
}

/** `macs <= 20M`: a bound on one exact cost. */
export interface ExactConstraint extends Bound {
  readonly cost: Cost;
}

/** `latency <= 5ms`: a bound on a measured time; `unit` is the one written, for messages. */
export interface LatencyConstraint extends Bound {
  readonly cost: MeasuredCost;
  readonly unit: TimeUnit;
}

export type Constraint = ExactConstraint | LatencyConstraint;

export type Costs = Readonly<Record<Cost, number>>;

export const isExact = (c: Constraint): c is ExactConstraint => c.cost !== "latency";
export const isLatency = (c: Constraint): c is LatencyConstraint => c.cost === "latency";

/** Whether exact costs meet an exact constraint. */
export function holds(c: ExactConstraint, x: Costs): boolean {
  return compares(c, x[c.cost]);
}

/** Whether a value (latency: in milliseconds) meets the bound. */
export function compares(c: Bound, v: number): boolean {
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

/** Milliseconds in one of each time unit. */
const msPer: Record<TimeUnit, number> = { us: 1e-3, ms: 1, s: 1e3 };

/**
 * A constraint from its expression (`macs <= 20M`, `1M < params`, `latency <= 5ms`), or E0606
 * saying what a constraint looks like. `text` is what the user wrote.
 */
export function constraintOf(e: Expr, text: string): Constraint | Diagnostic {
  const usage =
    "a constraint compares one cost (params, trainable, macs) with a number, e.g. macs <= 20M, or latency with a time, e.g. latency <= 5ms";
  if (e.kind !== "Binary" || !(e.op in flip))
    return error("E0606", e.span, `'${text}' is not a constraint`, usage);
  const named = (x: Expr) => (x.kind === "Name" ? x : undefined);
  const op = e.op as Comparison;
  const [name, other, cmp] = named(e.left)
    ? [named(e.left)!, e.right, op]
    : [named(e.right), e.left, flip[op]];
  if (!name) return error("E0606", e.span, `'${text}' bounds no cost`, usage);
  const all = [...costs, ...measuredCosts];
  if (!(all as readonly string[]).includes(name.name))
    return error(
      "E0606",
      name.span,
      `'${name.name}' is not a cost a constraint can bound`,
      didYouMean(name.name, all) ?? `costs: ${all.join(", ")}`,
    );
  const value = valueOf(other);
  if (name.name === "latency") {
    if (value?.unit === undefined || !(value.unit in msPer))
      return error(
        "E0606",
        other.span,
        value?.unit === undefined && value
          ? `latency is a time: ${printExpr(other)} needs a unit`
          : `'${text}' must compare latency with a time`,
        value?.unit === undefined && value
          ? `write ${printExpr(other)}ms, ${printExpr(other)}us or ${printExpr(other)}s`
          : "e.g. latency <= 5ms (units: ms, us, s)",
      );
    if (!(value.amount > 0 && Number.isFinite(value.amount)))
      return error(
        "E0606",
        other.span,
        `a latency bound must be a positive time, not ${printExpr(other)}`,
        "e.g. latency <= 5ms",
      );
    const unit = value.unit as TimeUnit;
    return {
      cost: "latency",
      op: cmp,
      bound: value.amount * msPer[unit],
      unit,
      text,
      span: e.span,
    };
  }
  if (value?.unit !== undefined)
    return error(
      "E0606",
      other.span,
      `${name.name} is a count, not a quantity in ${value.unit}: compare it with a plain number`,
      `e.g. ${name.name} <= 20M; only latency is bounded by a time`,
    );
  if (value === undefined)
    return error("E0606", e.span, `'${text}' must compare ${name.name} with a number`, usage);
  return { cost: name.name as Cost, op: cmp, bound: value.amount, text, span: e.span };
}

/** A literal number, or a number with its unit (`5ms`, `2 epochs`), as written. */
function valueOf(x: Expr): { amount: number; unit?: string } | undefined {
  if (x.kind === "Number") return { amount: x.value };
  if (x.kind === "Unary" && x.op === "-" && x.operand.kind === "Number")
    return { amount: -x.operand.value };
  if (x.kind === "Quantity" && x.amount.kind === "Number")
    return { amount: x.amount.value, unit: x.unit };
  return undefined;
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

/**
 * Milliseconds in the unit a latency bound was written in: `4.25ms`, `850us`. Every digit is
 * kept (12 significant ones drop only the division's rounding error), so a bound shown as the
 * nearest that admits a configuration does admit it.
 */
export function showTime(ms: number, unit: TimeUnit): string {
  const v = ms / msPer[unit];
  return `${Number(v.toPrecision(12))}${unit}`;
}

/** A bound that admits `value` of the constraint's cost, as the user would write it. */
export function admitting(c: Constraint, value: number): string {
  const op = c.op.length === 1 ? c.op + "=" : c.op;
  return `${c.cost} ${op} ${isLatency(c) ? showTime(value, c.unit) : showBound(value)}`;
}
