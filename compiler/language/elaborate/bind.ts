import type { Arg, BlockDecl, Expr, LayerStmt, NetworkDecl } from "../../../grammar/ast.js";
import type { Span } from "../../../grammar/span.js";
import { fail } from "../../../grammar/diagnostic.js";
import { argumentHint, didYouMean } from "../suggest.js";
import { evaluate } from "./evaluate.js";
import { accepts, kindWords, typeMismatch } from "./ops/attrs.js";
import type { BoundAttr, OpSpec } from "./ops/spec.js";
import type { Scope } from "./scope.js";
import { isUnset, show, type Value } from "./values.js";

/**
 * Binds a layer's arguments to its attributes: keywords by name, bare values by kind in order.
 * An argument that is `default` counts as not given; `inherited` (what `defaults` statements
 * set for this op) fills the attributes still open.
 */
export function bindOpArgs(
  op: OpSpec,
  stmt: Pick<LayerStmt, "args">,
  scope: Scope,
  layer: string,
  inherited: ReadonlyMap<string, BoundAttr> = new Map(),
): Map<string, BoundAttr> {
  const bound = new Map<string, BoundAttr>();
  const positional: BareArg[] = [];
  for (const arg of stmt.args) {
    const value = evaluate(arg.value, scope);
    const huge = intBeyondLimit(value);
    if (huge !== undefined) {
      fail(
        "E0303",
        arg.value.span,
        `${layer}: ${written(arg.value, huge)} is too large for an integer argument (at most ${maxInteger})`,
      );
    }
    if (!arg.name) {
      if (!isUnset(value)) positional.push({ value, span: arg.span, expr: arg.value });
      continue;
    }
    bindNamed(
      op,
      bound,
      layer,
      { name: arg.name.name, span: arg.name.span },
      value,
      arg.value.span,
    );
  }
  for (const p of positional) bindPositional(op, bound, layer, p);
  for (const [name, attr] of inherited) if (!bound.has(name)) bound.set(name, attr);
  return bound;
}

/** A bare argument as the spec wrote it: its value, where, and its expression (for messages). */
export interface BareArg {
  readonly value: Value;
  readonly span: Span;
  readonly expr: Arg["value"];
}

/**
 * Binds one bare argument to the first open attribute of its kind. Shared with generated
 * TypeScript's runtime, which passes the arguments the spec wrote bare as such (`bare`), so that a
 * float that fits nowhere is reported in the compiler's words.
 */
export function bindPositional(
  op: OpSpec,
  bound: Map<string, BoundAttr>,
  layer: string,
  p: BareArg,
): void {
  const slot = op.attrs.find((a) => a.positional && !bound.has(a.name) && accepts(a.kind, p.value));
  if (!slot) {
    const open = op.attrs.filter((a) => a.positional && !bound.has(a.name));
    if (
      p.value.t === "float" &&
      Number.isInteger(p.value.v) &&
      open.some((a) => a.kind === "int" || a.kind === "size")
    ) {
      const v = p.value.v;
      // `1e9` has no fraction part: it is a float for how it is written, or too large.
      if (Math.abs(v) > maxInteger) {
        fail(
          "E0303",
          p.span,
          `${layer}: ${written(p.expr, v)} is too large for an integer argument (at most ${maxInteger})`,
        );
      }
      if (p.expr.kind === "Number" && /[eE.]/.test(p.expr.raw)) {
        fail(
          "E0303",
          p.span,
          `${layer}: ${p.expr.raw} is written as a float (with ${p.expr.raw.includes(".") ? "a decimal point" : "an exponent"}), but an integer is needed here`,
          `write it in digits: ${String(v)}`,
        );
      }
      // Say where the float came from: a literal with a decimal point or an exponent (here,
      // or where a name was bound, as `--set classes=1e9`), or a '/' that did not divide.
      const literal = floatLiteral(p.expr);
      if (literal)
        fail(
          "E0303",
          p.span,
          `${layer}: ${show(p.value)} is a float, since ${literal.raw} is written with ${literal.raw.includes(".") ? "a decimal point" : "an exponent"}; an integer is needed here`,
          `write ${literal.raw} in digits: ${String(literal.value)}`,
        );
      if (hasDivision(p.expr))
        fail(
          "E0303",
          p.span,
          `${layer}: ${show(p.value)} is a float (from '/'), not an integer`,
          "use // for integer division, e.g. in // 2",
        );
      fail(
        "E0303",
        p.span,
        p.expr.kind === "Name"
          ? `${layer}: '${p.expr.name}' is ${show(p.value)}, a float, but an integer is needed here`
          : `${layer}: ${show(p.value)} is a float, but an integer is needed here`,
        `a number written with a decimal point or an exponent (1e9, 4.0) is a float, and so is arithmetic on one; write the integer in digits (${String(v)})`,
      );
    }
    fail(
      "E0303",
      p.span,
      `${layer}: no argument of ${op.name} takes ${show(p.value)} here`,
      open.length
        ? `the bare arguments still open are ${open.map((a) => `${a.name} (${kindWords[a.kind]})`).join(", ")}`
        : `all of ${op.name}'s bare arguments are given; name the argument, e.g. ${op.attrs[0]?.name ?? "name"} = ...`,
    );
  }
  bound.set(slot.name, p);
}

/**
 * Binds one keyword argument (`name = value`) to the attribute of that name, checking that the
 * layer has it, that it is given once and that the value is of its kind. Shared with generated
 * TypeScript's runtime, whose layer options are keyword arguments.
 */
export function bindNamed(
  op: OpSpec,
  bound: Map<string, BoundAttr>,
  layer: string,
  attr: { readonly name: string; readonly span: Span },
  value: Value,
  span: Span,
): void {
  const name = attr.name;
  const spec = op.attrs.find((a) => a.name === name);
  if (!spec) {
    fail(
      "E0300",
      attr.span,
      `${op.name} has no argument '${name}'`,
      argumentHint(
        name,
        op.attrs.map((a) => a.name),
      ) ?? `its arguments are ${op.attrs.map((a) => a.name).join(", ")}`,
    );
  }
  if (bound.has(name)) fail("E0304", attr.span, `${layer}: argument '${name}' is given twice`);
  // `default` is the argument not given: the attribute stays open for `defaults` and the layer.
  if (isUnset(value)) return;
  if (!accepts(spec.kind, value)) typeMismatch(layer, name, spec.kind, value, span);
  bound.set(name, { value, span });
}

/**
 * Binds call arguments to a block's or network's parameters. Defaults are evaluated in `defaults`
 * with the parameters bound so far, so a default can refer to an earlier one or to `in`.
 */
/**
 * A network argument whose value is already known (a sweep point, a `--set`, an experiment's
 * model), with the place it was written, so that diagnostics about it point there.
 */
export interface BoundArg {
  readonly kind: "BoundArg";
  readonly name: string;
  readonly value: Value;
  readonly span: Span;
}

export function bindParams(
  decl: BlockDecl | NetworkDecl,
  args: readonly (Arg | BoundArg)[],
  callerScope: Scope,
  defaults: Scope,
  callSpan: Span,
): Map<string, Value> {
  const kind = decl.kind === "BlockDecl" ? "block" : "network";
  const given = new Map<string, { value: Value; span: Span }>();
  let next = 0;
  for (const arg of args) {
    const value = arg.kind === "BoundArg" ? arg.value : evaluate(arg.value, callerScope);
    const named =
      arg.kind === "BoundArg" ? { name: arg.name, span: arg.span } : (arg.name ?? undefined);
    if (named) {
      const name = named.name;
      if (!decl.params.some((p) => p.name.name === name)) {
        fail(
          "E0300",
          named.span,
          `${kind} ${decl.name.name} has no parameter '${name}'`,
          argumentHint(
            name,
            decl.params.map((p) => p.name.name),
          ) ?? paramList(decl),
        );
      }
      if (given.has(name)) fail("E0304", named.span, `argument '${name}' is given twice`);
      given.set(name, { value, span: arg.span });
    } else {
      const param = decl.params[next++];
      if (!param) {
        fail(
          "E0301",
          arg.span,
          `${kind} ${decl.name.name} takes ${decl.params.length} argument${decl.params.length === 1 ? "" : "s"}, but more are given`,
          paramList(decl),
        );
      }
      if (given.has(param.name.name))
        fail("E0304", arg.span, `argument '${param.name.name}' is given twice`);
      given.set(param.name.name, { value, span: arg.span });
    }
  }
  const values = new Map<string, Value>();
  for (const p of decl.params) {
    const g = given.get(p.name.name);
    let v: Value;
    if (g) v = g.value;
    else if (p.default) v = evaluate(p.default, defaults);
    else {
      fail(
        "E0302",
        callSpan,
        `${kind} ${decl.name.name} needs a value for '${p.name.name}'`,
        paramList(decl),
      );
    }
    values.set(p.name.name, v);
    defaults.set(p.name.name, v);
  }
  return values;
}

function paramList(decl: BlockDecl | NetworkDecl): string {
  const ps = decl.params.map((p) => (p.default ? `${p.name.name} = …` : p.name.name));
  return `${decl.name.name}(${ps.join(", ")})`;
}

// Channel counts, sizes and repeat counts beyond this are mistakes; doubles stop being exact
// not far above it, and no tensor library indexes further.
const maxInteger = 2 ** 31 - 1;

/** The first integer in a value (itself, a size's dimensions, a list's items) beyond maxInteger. */
function intBeyondLimit(v: Value): number | undefined {
  const ints =
    v.t === "int"
      ? [v.v]
      : v.t === "size"
        ? v.dims
        : v.t === "list"
          ? v.items.flatMap((i) => (i.t === "int" ? [i.v] : []))
          : [];
  return ints.find((n) => Math.abs(n) > maxInteger);
}

/** A number as the user wrote it, with its value when they differ: `1e12 (1000000000000)`. */
/** Whether an expression divides with `/` anywhere inside. */
/** Whether an expression divides with `/` (a float that did not divide says so). */
export function hasDivision(e: Expr): boolean {
  let found = false;
  walk(e, (x) => {
    if (x.kind === "Binary" && x.op === "/") found = true;
  });
  return found;
}

function walk(e: Expr, f: (e: Expr) => void): void {
  f(e);
  if (e.kind === "Unary") walk(e.operand, f);
  if (e.kind === "Binary") [e.left, e.right].forEach((x) => walk(x, f));
  if (e.kind === "Conditional") [e.test, e.then, e.otherwise].forEach((x) => walk(x, f));
  if (e.kind === "Call") e.args.forEach((a) => walk(a.value, f));
  if (e.kind === "List") e.items.forEach((x) => walk(x, f));
}

/** The first float literal (`1e9`, `4.0`) inside an expression, if any. */
/** The first float literal in an expression, named when a float reaches an integer argument. */
export function floatLiteral(e: Expr): Extract<Expr, { kind: "Number" }> | undefined {
  switch (e.kind) {
    case "Number":
      return e.isInteger ? undefined : e;
    case "Unary":
      return floatLiteral(e.operand);
    case "Binary":
      return floatLiteral(e.left) ?? floatLiteral(e.right);
    case "Conditional":
      return floatLiteral(e.then) ?? floatLiteral(e.otherwise);
    case "Call":
      return e.args.map((a) => floatLiteral(a.value)).find((x) => x !== undefined);
    default:
      return undefined;
  }
}

function written(e: Arg["value"], v: number): string {
  return e.kind === "Number" && e.raw !== String(v) ? `${e.raw} (${v})` : String(v);
}
