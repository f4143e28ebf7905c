import type { Span } from "../../../grammar/span.js";
import { fail } from "../../../grammar/diagnostic.js";

/**
 * The language's arithmetic on numbers, one table for the evaluator and for the runtime of
 * generated TypeScript (`archc/layers`' `num`), so that a spec and the module generated from it
 * compute the same values of the same kinds. Integers stay integers under `+ - * // %`; any
 * float makes the result a float; `/` is an integer only when both sides are and it divides
 * evenly. `//` rounds toward negative infinity and `%` takes the divisor's sign, as Python's do
 * (`-7 % 3` is 2, where JavaScript's `%` gives -1).
 */

/** A number of the language: its kind and value. */
export interface NumberValue {
  readonly t: "int" | "float";
  readonly v: number;
}

export type ArithmeticOp = "+" | "-" | "*" | "/" | "//" | "%";

export function floorDiv(a: number, b: number): number {
  return Math.floor(a / b);
}

export function floorMod(a: number, b: number): number {
  return a - b * Math.floor(a / b);
}

/** E0501's text, where `/`, `//` or `%` meets a zero divisor. */
export const divisionByZero = "division by zero";

function kind(ints: boolean, v: number): NumberValue {
  return { t: ints ? "int" : "float", v };
}

const table: Record<ArithmeticOp, (a: number, b: number, ints: boolean) => NumberValue> = {
  "+": (a, b, ints) => kind(ints, a + b),
  "-": (a, b, ints) => kind(ints, a - b),
  "*": (a, b, ints) => kind(ints, a * b),
  // Exact integer division stays an integer, so `in / 2` can be a channel count.
  "/": (a, b, ints) => kind(ints && a % b === 0, a / b),
  "//": (a, b, ints) => kind(ints, floorDiv(a, b)),
  "%": (a, b, ints) => kind(ints, floorMod(a, b)),
};

export function isArithmeticOp(op: string): op is ArithmeticOp {
  return Object.hasOwn(table, op);
}

/** `a op b`; a zero divisor of `/`, `//` or `%` is E0501 at `span`. */
export function arithmetic(
  op: ArithmeticOp,
  a: NumberValue,
  b: NumberValue,
  span: Span,
): NumberValue {
  if (b.v === 0 && (op === "/" || op === "//" || op === "%")) fail("E0501", span, divisionByZero);
  return table[op](a.v, b.v, a.t === "int" && b.t === "int");
}

/** `-a`, of the same kind. */
export function negate(a: NumberValue): NumberValue {
  return { t: a.t, v: -a.v };
}
