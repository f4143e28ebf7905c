import type { BinaryOp } from "./ast.js";

/**
 * Binding strength of the binary operators, loosest first; the AST builder parses with it and
 * the printer parenthesises with it, so the two cannot disagree. 0 is the conditional `?:`,
 * 3 is prefix `not` (looser than comparisons: `not a == b` is `not (a == b)`), 7 prefix `-`.
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
  "+": 5,
  "-": 5,
  "*": 6,
  "/": 6,
  "//": 6,
  "%": 6,
};

export const conditionalPrecedence = 0;
export const notPrecedence = 3;
export const negatePrecedence = 7;
export const atomPrecedence = 8;
