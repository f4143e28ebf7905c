import type { Span } from "../../../grammar/span.js";
import { fail } from "../../../grammar/diagnostic.js";
import { needsNumber, type Value } from "./values.js";

/**
 * The functions an expression may call, typed: each checks its arguments and reports a bad one
 * at the argument itself, so the squiggle lands on what to change. The set covers what width
 * rules need: RegNet's quantised widths (`log`, `pow`, `round`), EfficientNet's and MobileNet's
 * rounding (`floor`, `ceil`, `max`).
 */

/** An evaluated argument and where it was written. */
export interface ArgValue {
  readonly value: Value;
  readonly span: Span;
}

type Builtin = (args: readonly ArgValue[], call: Span) => Value;

function arity(args: readonly ArgValue[], call: Span, fn: string, n: number, example: string) {
  if (args.length !== n) {
    const words = n === 1 ? "one argument" : `${n} arguments`;
    fail("E0301", call, `${fn} takes ${words}, not ${args.length}`, `write e.g. ${example}`);
  }
}

function num(a: ArgValue, what: string): number {
  const v = a.value;
  if (v.t !== "int" && v.t !== "float") fail("E0500", a.span, needsNumber(what, v));
  return v.v;
}

function mapNum(v: Value, f: (x: number) => number): Value {
  return v.t === "int" ? { t: "int", v: f(v.v) } : { t: "float", v: f((v as { v: number }).v) };
}

function fold(
  args: readonly ArgValue[],
  call: Span,
  fn: string,
  f: (a: number, b: number) => number,
): Value {
  if (args.length < 1)
    fail("E0302", call, `${fn} needs at least one argument`, `write e.g. ${fn}(a, b)`);
  const nums = args.map((a) => num(a, fn));
  // Math.min/max must not see reduce's index and array arguments.
  const v = nums.reduce((a, b) => f(a, b));
  return args.every((a) => a.value.t === "int") ? { t: "int", v } : { t: "float", v };
}

/** Rounds to an integer, or reports the argument when the result is not one a count can be. */
function integral(fn: string, f: (x: number) => number): Builtin {
  return (args, call) => {
    arity(args, call, fn, 1, `${fn}(x / 8)`);
    return { t: "int", v: f(num(args[0]!, fn)) };
  };
}

const log: Builtin = (args, call) => {
  arity(args, call, "log", 1, "log(w / w0)");
  const x = num(args[0]!, "log");
  if (!(x > 0)) {
    fail(
      "E0504",
      args[0]!.span,
      `log needs a positive number, not ${x}`,
      "the natural logarithm is defined above 0; for a logarithm base b write log(x) / log(b)",
    );
  }
  return { t: "float", v: Math.log(x) };
};

const pow: Builtin = (args, call) => {
  arity(args, call, "pow", 2, "pow(wm, 2)");
  const base = num(args[0]!, "pow");
  const exponent = num(args[1]!, "pow");
  if (base === 0 && exponent < 0)
    fail("E0501", args[1]!.span, `pow(0, ${exponent}): zero to a negative power divides by zero`);
  if (base < 0 && !Number.isInteger(exponent)) {
    fail(
      "E0504",
      args[1]!.span,
      `pow(${base}, ${exponent}): a negative base needs a whole exponent`,
      "a fractional power of a negative number is not a real number",
    );
  }
  const v = Math.pow(base, exponent);
  if (!Number.isFinite(v))
    fail("E0504", call, `pow(${base}, ${exponent}) is too large to be a number`);
  // Integers stay integers, as under `*`: pow(2, 3) is 8, a channel count.
  const ints = args[0]!.value.t === "int" && args[1]!.value.t === "int" && exponent >= 0;
  return ints && Number.isSafeInteger(v) ? { t: "int", v } : { t: "float", v };
};

const builtins: Record<string, Builtin> = {
  min: (a, s) => fold(a, s, "min", Math.min),
  max: (a, s) => fold(a, s, "max", Math.max),
  abs: (a, s) => {
    arity(a, s, "abs", 1, "abs(x)");
    num(a[0]!, "abs");
    return mapNum(a[0]!.value, Math.abs);
  },
  floor: integral("floor", Math.floor),
  ceil: integral("ceil", Math.ceil),
  round: integral("round", Math.round),
  log,
  pow,
};

export const builtinFunctions: ReadonlySet<string> = new Set(Object.keys(builtins));

export function builtin(name: string): Builtin | undefined {
  return Object.hasOwn(builtins, name) ? builtins[name] : undefined;
}
