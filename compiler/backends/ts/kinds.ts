import type { Body, Expr } from "../../../grammar/ast.js";
import type { DeclTable } from "../../language/resolve/table.js";
import { ops } from "../../language/elaborate/ops/catalogue.js";
import {
  bindCall,
  forEachElement,
  type Decl,
  type ParamTypes,
  type StaticType,
} from "../structured/analysis.js";

/**
 * Which values of a spec may be floats, for generated TypeScript (runtime/numbers.ts): where every
 * operand of an operator is an integer, JavaScript's operator computes the language's value; where
 * one may be a float, the runtime's `num` must, or `c * 1.0` would be the integer 64 that
 * `filters` takes instead of the float the compiler refuses.
 *
 * `int`: always an integer; `float`: always a float; `either`: a number of either kind, or a value
 * that may be a number (a partition that is a count or `depthwise`); `none`: never a number.
 */
export type Kind = "int" | "float" | "either" | "none";

/** A name's kind: `none` for what is not a local (a word), undefined for one not known yet. */
export type KindLookup = (name: string) => Kind | undefined;

/** The kinds of every parameter, `let` and repeat index of each declaration. */
export type Kinds = Map<Decl, Map<string, Kind>>;

export function joinKind(a: Kind | undefined, b: Kind): Kind {
  return a === undefined || a === b ? b : "either";
}

/** An operand's kind as arithmetic sees it: what is not surely a number may be anything. */
function operand(k: Kind): Kind {
  return k === "none" ? "either" : k;
}

/** The kind of an arithmetic result from its operands': `+ - * // %` keep integers integers. */
function combine(kinds: readonly (Kind | undefined)[]): Kind | undefined {
  if (kinds.some((k) => k === undefined)) return undefined;
  const ks = (kinds as Kind[]).map(operand);
  if (ks.every((k) => k === "int")) return "int";
  return ks.some((k) => k === "float") ? "float" : "either";
}

const comparisons = new Set(["and", "or", "==", "!=", "<", "<=", ">", ">="]);

/** An expression's kind; undefined while a name in it is not known yet. */
export function exprKind(e: Expr, lookup: KindLookup): Kind | undefined {
  switch (e.kind) {
    case "Number":
      return e.isInteger ? "int" : "float";
    case "Name":
      if (e.name === "in") return "int";
      return lookup(e.name);
    case "Unary":
      return e.op === "not" ? "none" : combine([exprKind(e.operand, lookup)]);
    case "Binary": {
      if (comparisons.has(e.op)) return "none";
      const k = combine([exprKind(e.left, lookup), exprKind(e.right, lookup)]);
      // 6 / 4 is 1.5: exact division of integers is an integer only when it divides evenly.
      return e.op === "/" && k === "int" ? "either" : k;
    }
    case "Conditional": {
      const [a, b] = [exprKind(e.then, lookup), exprKind(e.otherwise, lookup)];
      return a === undefined || b === undefined ? undefined : joinKind(a, b);
    }
    case "Call": {
      const args = e.args.map((a) => exprKind(a.value, lookup));
      switch (e.callee.name) {
        case "floor":
        case "ceil":
        case "round":
          return "int";
        case "log":
          return "float";
        case "pow": {
          // pow(2, -1) is 0.5.
          const k = combine(args);
          return k === "int" ? "either" : k;
        }
        default:
          return combine(args);
      }
    }
    default:
      return "none";
  }
}

/** A network argument the caller passes: any number for a numeric parameter. */
function networkKind(t: StaticType | undefined): Kind {
  switch (t) {
    case "bool":
    case "string":
    case "padding":
    case "order":
    case "activation":
    case "shape":
      return "none";
    default:
      return "either";
  }
}

/**
 * Infers kinds to a fixed point: a network's numeric parameters may be anything its caller
 * passes; a block parameter is what its default and every call site give it; a `let` what its
 * value is; a repeat index an integer.
 */
export function inferKinds(table: DeclTable, decls: readonly Decl[], types: ParamTypes): Kinds {
  const kinds: Kinds = new Map(decls.map((d) => [d, new Map<string, Kind>()]));
  const set = (d: Decl, name: string, k: Kind | undefined): boolean => {
    if (k === undefined) return false;
    const m = kinds.get(d)!;
    const before = m.get(name);
    const after = joinKind(before, k);
    if (after === before) return false;
    m.set(name, after);
    return true;
  };
  for (const d of decls) {
    if (d.kind !== "NetworkDecl") continue;
    for (const p of d.params) set(d, p.name.name, networkKind(types.get(d)?.get(p.name.name)));
  }
  for (let round = 0, changed = true; changed && round < 20; round++) {
    changed = false;
    for (const d of decls) {
      const m = kinds.get(d)!;
      const local = localNames(d);
      const lookup: KindLookup = (n) => (local.has(n) ? m.get(n) : "none");
      const kindOf = (e: Expr) => exprKind(e, lookup);
      if (d.kind === "BlockDecl") {
        for (const p of d.params) {
          // A parameter left `default` is undefined: no number.
          if (p.default) changed = set(d, p.name.name, kindOf(p.default)) || changed;
        }
      }
      const lets = (b: Body) => {
        for (const s of b.stmts)
          if (s.kind === "Let") changed = set(d, s.name.name, kindOf(s.value)) || changed;
      };
      lets(d.body);
      forEachElement(d.body, (el) => {
        switch (el.kind) {
          case "Branches":
            el.branches.forEach(lets);
            return;
          case "Repeat":
            if (el.index) changed = set(d, el.index.name, "int") || changed;
            lets(el.body);
            return;
          case "If":
            [el.then, el.otherwise].forEach((b) => b && lets(b));
            return;
          case "Residual":
            [el.body, el.shortcut].forEach((b) => b && lets(b));
            return;
          case "Layer": {
            if (ops.has(el.callee.name)) return;
            const block = table.blocks.get(el.callee.name);
            if (!block || !kinds.has(block)) return;
            for (const [param, value] of bindCall(block, el.args))
              changed = set(block, param, kindOf(value)) || changed;
          }
        }
      });
    }
  }
  return kinds;
}

/** The names a declaration binds: its parameters, `let`s and repeat indices. */
export function localNames(d: Decl): Set<string> {
  const names = new Set(d.params.map((p) => p.name.name));
  const lets = (b: Body) => {
    for (const s of b.stmts) if (s.kind === "Let") names.add(s.name.name);
  };
  lets(d.body);
  forEachElement(d.body, (el) => {
    if (el.kind === "Branches") el.branches.forEach(lets);
    if (el.kind === "Repeat") {
      if (el.index) names.add(el.index.name);
      lets(el.body);
    }
    if (el.kind === "If") [el.then, el.otherwise].forEach((b) => b && lets(b));
    if (el.kind === "Residual") [el.body, el.shortcut].forEach((b) => b && lets(b));
  });
  return names;
}
