import type { Arg, Expr, RangeExpr } from "../../../grammar/ast.js";
import { limits } from "../../../grammar/limits.js";
import type { Span } from "../../../grammar/span.js";
import { fail } from "../../../grammar/diagnostic.js";
import { arithmetic, isArithmeticOp, negate, type NumberValue } from "./arithmetic.js";
import { didYouMean } from "../suggest.js";
import { builtin, builtinFunctions } from "./builtins.js";
import type { Scope } from "./scope.js";
import { needsNumber, show, symbols, typeName, type Value } from "./values.js";

export interface EvalOptions {
  /** Config entries may name optimizers and networks: `sgd(lr = 0.1)` is then a call value. */
  readonly allowCalls?: boolean;
}

export { builtinFunctions };

function num(v: Value, span: Span, what: string): number {
  if (v.t !== "int" && v.t !== "float") fail("E0500", span, needsNumber(what, v));
  return v.v;
}

export function evaluate(e: Expr, scope: Scope, opts: EvalOptions = {}): Value {
  switch (e.kind) {
    case "Number":
      return e.isInteger ? { t: "int", v: e.value } : { t: "float", v: e.value };
    case "Bool":
      return { t: "bool", v: e.value };
    case "String":
      return { t: "string", v: e.value };
    case "Size":
      return e.stride === undefined
        ? { t: "size", dims: e.dims }
        : { t: "size", dims: e.dims, stride: e.stride };
    case "List":
      return { t: "list", items: e.items.map((i) => evaluate(i, scope, opts)) };
    case "Quantity": {
      const amount = num(evaluate(e.amount, scope, opts), e.span, "a quantity");
      return { t: "quantity", amount, unit: e.unit };
    }
    case "Name":
      return lookup(e.name, e.span, scope);
    case "Unary": {
      const v = evaluate(e.operand, scope, opts);
      if (e.op === "not") {
        if (v.t !== "bool")
          fail("E0500", e.span, `'not' needs true or false, not ${typeName(v)} (${show(v)})`);
        return { t: "bool", v: !v.v };
      }
      num(v, e.span, "'-'");
      return negate(v as NumberValue);
    }
    case "Conditional": {
      const test = evaluate(e.test, scope, opts);
      if (test.t !== "bool") {
        fail(
          "E0500",
          e.test.span,
          `the condition must be true or false, not ${typeName(test)} (${show(test)})`,
        );
      }
      return evaluate(test.v ? e.then : e.otherwise, scope, opts);
    }
    case "Binary":
      return binary(
        e.op,
        evaluate(e.left, scope, opts),
        () => evaluate(e.right, scope, opts),
        e.span,
      );
    case "Range":
      return rangeValue(e, scope, opts);
    case "Call": {
      const fn = builtin(e.callee.name);
      if (fn && !e.args.some((a) => a.name))
        return fn(
          e.args.map((a) => ({ value: evaluate(a.value, scope, opts), span: a.value.span })),
          e.span,
        );
      if (fn)
        fail(
          "E0303",
          e.span,
          `${e.callee.name} takes positional arguments only, e.g. ${e.callee.name}(a, b)`,
        );
      if (!opts.allowCalls) {
        fail(
          "E0206",
          e.callee.span,
          `'${e.callee.name}' is not a function usable in an expression`,
          didYouMean(e.callee.name, builtinFunctions) ??
            `functions here: ${[...builtinFunctions].join(", ")}`,
        );
      }
      return callValue(e.callee.name, e.args, scope, opts);
    }
  }
}

/** `16..64 step 16` -> [16, 32, 48, 64]: integers, counting up, end included when reached. */
function rangeValue(e: RangeExpr, scope: Scope, opts: EvalOptions): Value {
  const int = (x: Expr, what: string): number => {
    const v = evaluate(x, scope, opts);
    if (v.t !== "int")
      fail(
        "E0505",
        x.span,
        `a range's ${what} must be an integer, not ${typeName(v)} (${show(v)})`,
      );
    return v.v;
  };
  const start = int(e.start, "start");
  const end = int(e.end, "end");
  const step = e.step ? int(e.step, "step") : 1;
  const written = `${start}..${end}`;
  const stepped = step > 1 ? ` step ${step}` : "";
  if (step < 1)
    fail(
      "E0505",
      e.step!.span,
      `a range's step must be 1 or more, not ${step}`,
      "e.g. 16..64 step 16",
    );
  if (end < start)
    fail(
      "E0505",
      e.span,
      `the range ${written} is empty: its end is below its start`,
      `ranges count up: ${end}..${start}${stepped}`,
    );
  const count = Math.floor((end - start) / step) + 1;
  if (count > limits.rangeValues)
    fail(
      "E0505",
      e.span,
      `the range ${written}${stepped} has ${count.toLocaleString("en-US")} values; at most ${limits.rangeValues.toLocaleString("en-US")} are allowed`,
      "a larger step takes fewer: e.g. step " + Math.ceil((end - start) / (limits.rangeValues - 1)),
    );
  return {
    t: "list",
    items: Array.from({ length: count }, (_, i) => ({ t: "int", v: start + i * step })),
  };
}

function callValue(name: string, args: readonly Arg[], scope: Scope, opts: EvalOptions): Value {
  const named: Record<string, Value> = {};
  const positional: Value[] = [];
  for (const a of args) {
    const v = evaluate(a.value, scope, opts);
    if (a.name) {
      if (a.name.name in named)
        fail("E0304", a.name.span, `argument '${a.name.name}' is given twice`);
      named[a.name.name] = v;
    } else positional.push(v);
  }
  return { t: "call", name, args: named, positional };
}

export function lookup(name: string, span: Span, scope: Scope): Value {
  if (name === "in") {
    const c = scope.inChannels?.();
    if (c === undefined)
      fail(
        "E0203",
        span,
        "'in' (the incoming channel count) is not known here",
        "'in' can be used inside a network or block body, after the input",
      );
    return { t: "int", v: c };
  }
  const v = scope.get(name);
  if (v) return v;
  if (symbols.has(name)) return { t: "symbol", v: name };
  fail(
    "E0203",
    span,
    `unknown name '${name}'`,
    didYouMean(name, [...scope.names(), ...symbols, "in"]),
  );
}

function binary(op: string, l: Value, rightThunk: () => Value, span: Span): Value {
  if (op === "and" || op === "or") {
    if (l.t !== "bool")
      fail("E0500", span, `'${op}' needs true or false, not ${typeName(l)} (${show(l)})`);
    if (op === "and" && !l.v) return l;
    if (op === "or" && l.v) return l;
    const r = rightThunk();
    if (r.t !== "bool")
      fail("E0500", span, `'${op}' needs true or false, not ${typeName(r)} (${show(r)})`);
    return r;
  }
  const r = rightThunk();
  if (op === "==" || op === "!=") {
    const eq = show(l) === show(r) && (l.t === r.t || (isNum(l) && isNum(r)));
    return { t: "bool", v: op === "==" ? eq : !eq };
  }
  const a = num(l, span, `'${op}'`);
  const b = num(r, span, `'${op}'`);
  switch (op) {
    case "<":
      return { t: "bool", v: a < b };
    case "<=":
      return { t: "bool", v: a <= b };
    case ">":
      return { t: "bool", v: a > b };
    case ">=":
      return { t: "bool", v: a >= b };
  }
  if (!isArithmeticOp(op)) fail("E0500", span, `unknown operator '${op}'`);
  return arithmetic(op, l as NumberValue, r as NumberValue, span);
}

function isNum(v: Value): boolean {
  return v.t === "int" || v.t === "float";
}
