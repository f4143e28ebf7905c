import type { BinaryOp } from "./ast.js";

/**
 * Binding strength of the binary operators, loosest first; the AST builder parses with it and
 * the printer parenthesises with it, so the two cannot disagree. 0 is the conditional `?:`,
 * 3 is prefix `not` (looser than comparisons: `not a == b` is `not (a == b)`), 9 prefix `-`.
 * A range sits between comparisons and sums, as in Kotlin: `1..n + 1 step 2` is
 * `(1..(n + 1)) step 2`.
 */
export const precedence: Readonly<Record<BinaryOp, number>> = {
  or: 1,
  and: 2,
  "==": 4,
  "!=": 4,
  "<": 4,
  "<=": 4,
  ">": 4,
  ">=": 4,
  "+": 7,
  "-": 7,
  "*": 8,
  "/": 8,
  "//": 8,
  "%": 8,
};
export const stepPrecedence = 5;
export const rangePrecedence = 6;

export const conditionalPrecedence = 0;
export const notPrecedence = 3;
export const negatePrecedence = 9;
export const atomPrecedence = 10;
