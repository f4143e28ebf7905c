import {
  arithmetic,
  negate,
  type ArithmeticOp,
  type NumberValue,
} from "../../../language/elaborate/arithmetic.js";
import { builtin } from "../../../language/elaborate/builtins.js";
import type { AttrKind } from "../../../language/elaborate/ops/spec.js";
import { needsNumber, show, type Value } from "../../../language/elaborate/values.js";
import { diagnosed, generated, SpecError } from "./errors.js";
import { parseSite, type Site } from "./sites.js";

/**
 * The language's numbers in generated TypeScript. The language tells 64 from 64.0 (`c / 2.0` is
 * a float, which `filters` refuses, E0303), JavaScript does not: a whole JavaScript number is an
 * integer of the language, any other a float, and a float whose value is whole is a `Float`.
 * Generated code writes arithmetic with JavaScript's operators where every operand is an integer
 * by construction, and through `num` where one may be a float: `num` runs the compiler's own
 * operator table (elaborate/arithmetic.ts) and functions (elaborate/builtins.ts), so values, kinds
 * and errors are the compiler's.
 */

/** A float of the language, which JavaScript's numbers would take for an integer when whole. */
export class Float {
  constructor(readonly value: number) {}
  valueOf(): number {
    return this.value;
  }
  toString(): string {
    return String(this.value);
  }
}

/** A number of the language: a JavaScript number (an integer when whole) or a `Float`. */
export type Num = number | Float;

/**
 * What an operand may hold in generated code: a number, or a partition word or list where the
 * spec's parameter may be one, which the operators refuse as the compiler does (E0500).
 */
export type Operand = Num | string | readonly Num[];

/** A runtime value as the language value it stands for; `kind` reads arrays as a size or shape. */
export function languageValue(v: unknown, kind?: AttrKind): Value {
  if (v instanceof Float) return { t: "float", v: v.value };
  if (typeof v === "number") return Number.isInteger(v) ? { t: "int", v } : { t: "float", v };
  if (typeof v === "boolean") return { t: "bool", v };
  if (typeof v === "string") return kind === "string" ? { t: "string", v } : { t: "symbol", v };
  if (Array.isArray(v)) {
    const items = v.map((i) => languageValue(i));
    const ints = items.every((i) => i.t === "int");
    const size = (kind === "size" && v.length === 2) || (kind === "shape" && v.length === 3);
    return ints && size
      ? { t: "size", dims: items.map((i) => (i as NumberValue).v) }
      : { t: "list", items };
  }
  return { t: "string", v: String(v) };
}

function fromValue(v: Value): Num {
  if (v.t === "int") return v.v;
  if (v.t === "float") return new Float(v.v);
  throw new Error(`internal: a number was expected, not ${show(v)}`);
}

/** `a op b`; its errors (E0500, E0501) at `site`, the expression, as the compiler's are. */
function binary(op: ArithmeticOp, a: Operand, b: Operand, site?: Site): Num {
  const at = parseSite(site).at;
  return diagnosed(() => fromValue(arithmetic(op, number(a, op, site), number(b, op, site), at)));
}

/** An operand: a number, or the compiler's E0500 for what is none, at `site`. */
function number(a: unknown, op: string, site?: Site): NumberValue {
  const v = languageValue(a);
  if (v.t === "int" || v.t === "float") return v;
  throw new SpecError("E0500", needsNumber(`'${op}'`, v), undefined, {
    span: parseSite(site).at,
  });
}

/** `fn(args)`; its errors at the call's site: each argument's place (`0=`, `1=`), or the call's. */
function call(fn: string, args: readonly Operand[], site?: Site): Num {
  const places = parseSite(site);
  return diagnosed(() =>
    fromValue(
      builtin(fn)!(
        args.map((a, i) => ({
          value: languageValue(a),
          span: places.args.get(String(i))?.span ?? places.at,
        })),
        places.at,
      ),
    ),
  );
}

/** The language's functions, their errors located at `site` (the call in the spec). */
function functions(site?: Site) {
  return {
    min: (...xs: Operand[]): Num => call("min", xs, site),
    max: (...xs: Operand[]): Num => call("max", xs, site),
    abs: (...xs: Operand[]): Num => call("abs", xs, site),
    floor: (...xs: Operand[]): number => call("floor", xs, site) as number,
    ceil: (...xs: Operand[]): number => call("ceil", xs, site) as number,
    round: (...xs: Operand[]): number => call("round", xs, site) as number,
    log: (...xs: Operand[]): Num => call("log", xs, site),
    pow: (...xs: Operand[]): Num => call("pow", xs, site),
  };
}

/** The language's equality: numbers by value whatever their kind (2 == 2.0), the rest as shown. */
function eq(a: unknown, b: unknown): boolean {
  const l = languageValue(a);
  const r = languageValue(b);
  const nums = (v: Value) => v.t === "int" || v.t === "float";
  return show(l) === show(r) && (l.t === r.t || (nums(l) && nums(r)));
}

/**
 * The language's operators and functions where an operand may be a float. An operator's last
 * argument is the site of its expression in the spec (sites.ts), where generated code knows it
 * may fail there: its error then points at the spec's expression.
 */
export const num = {
  /** A float literal whose value is whole: `1.0`, `1e3`. */
  float: (x: number): Float => new Float(x),
  add: (a: Operand, b: Operand, site?: Site): Num => binary("+", a, b, site),
  sub: (a: Operand, b: Operand, site?: Site): Num => binary("-", a, b, site),
  mul: (a: Operand, b: Operand, site?: Site): Num => binary("*", a, b, site),
  div: (a: Operand, b: Operand, site?: Site): Num => binary("/", a, b, site),
  idiv: (a: Operand, b: Operand, site?: Site): Num => binary("//", a, b, site),
  mod: (a: Operand, b: Operand, site?: Site): Num => binary("%", a, b, site),
  neg: (a: Operand, site?: Site): Num => fromValue(negate(number(a, "-", site))),
  eq,
  lt: (a: Operand, b: Operand, site?: Site): boolean =>
    number(a, "<", site).v < number(b, "<", site).v,
  le: (a: Operand, b: Operand, site?: Site): boolean =>
    number(a, "<=", site).v <= number(b, "<=", site).v,
  gt: (a: Operand, b: Operand, site?: Site): boolean =>
    number(a, ">", site).v > number(b, ">", site).v,
  ge: (a: Operand, b: Operand, site?: Site): boolean =>
    number(a, ">=", site).v >= number(b, ">=", site).v,
  ...functions(),
  /** The functions, with their errors at the call `site` in the spec: `num.at(at[3]).log(x)`. */
  at: functions,
};
