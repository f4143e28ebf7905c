import type { Expr, NumberLit } from "../../../../grammar/ast.js";
import { generated } from "./errors.js";

/**
 * An argument the spec wrote bare (`conv 3x3 (c / 2)`, not `filters = c / 2`), for the runtime
 * to bind as the compiler binds bare arguments: by kind, into the first open attribute, so that a
 * value that fits none (a float where `filters` wants an integer) is reported in the compiler's
 * words. Those words depend on how the argument was written, which `form` records: the name it
 * is, the literal it is, a float literal in it, a `/` in it.
 */
export class Bare<T = unknown> {
  constructor(
    readonly value: T,
    readonly form: BareForm,
  ) {}
}

export interface BareForm {
  /** The argument is this name. */
  readonly name?: string;
  /** The argument is this number literal. */
  readonly literal?: string;
  /** A float literal in the argument. */
  readonly float?: string;
  /** The argument divides with `/`. */
  readonly division?: boolean;
}

/** A bare argument of a layer in generated code; its type is its value's. */
export function bare<T>(value: T, form: BareForm = {}): T {
  return new Bare(value, form) as T;
}

const suffixes: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9 };

function literal(raw: string): NumberLit {
  const m = /^(.*?)([kMG]?)$/.exec(raw)!;
  const value = Number(m[1]) * (suffixes[m[2]!] ?? 1);
  return { kind: "Number", value, raw, isInteger: !/[.eE]/.test(raw), span: generated };
}

/** An expression with the form the compiler's messages read. */
export function formExpr(f: BareForm): Expr {
  if (f.name !== undefined) return { kind: "Name", name: f.name, span: generated };
  if (f.literal !== undefined) return literal(f.literal);
  return {
    kind: "Binary",
    op: f.division ? "/" : "+",
    left: literal(f.float ?? "0"),
    right: literal("1"),
    span: generated,
  };
}
