import type {
  Arg,
  BlockDecl,
  Body,
  Element,
  Expr,
  LayerStmt,
  NetworkDecl,
} from "../../../grammar/ast.js";
import type { Loaded } from "../../language/load.js";
import type { DeclTable } from "../../language/resolve/table.js";
import type { AttrKind, OpSpec } from "../../language/elaborate/ops/spec.js";
import { ops } from "../../language/elaborate/ops/catalogue.js";
import { activations, orders, paddings, partWords } from "../../language/elaborate/values.js";

/**
 * What a structured backend (one function or class per block, network arguments as typed
 * parameters) needs to know about a spec beyond its AST, found without elaborating it: the static
 * type of every block and network parameter, which attribute each bare layer argument fills,
 * which blocks a network uses, and the comment above each declaration.
 */

/** The static type of a value: what a target language declares a parameter as. */
export type StaticType =
  | "int"
  | "float"
  /** A number whose integrality is not known statically (arithmetic on parameters, say). */
  | "number"
  | "bool"
  | "string"
  /** A 2-d window or stride: `3x3`, `[3, 5]` or one integer. */
  | "size"
  /** A 3-d shape: `299x299x3` or `[h, w, c]`. */
  | "shape"
  | "padding"
  | "activation"
  | "parts"
  | "order"
  /** Explicit padding: one integer, `2x1`, `[h, w]` or `[top, bottom, left, right]`. */
  | "pads"
  | "unknown";

/** A problem that keeps a spec from being written in structured form. */
export class StructureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StructureError";
  }
}

/** A bare word's type, or undefined when the word is not one of the language's symbols. */
export function symbolType(word: string): StaticType | undefined {
  if ((partWords as readonly string[]).includes(word)) return "parts";
  if ((paddings as readonly string[]).includes(word)) return "padding";
  if ((orders as readonly string[]).includes(word)) return "order";
  if ((activations as readonly string[]).includes(word)) return "activation";
  return undefined;
}

export type Lookup = (name: string) => StaticType | undefined;

/** The static type of an expression, given the types of the names in scope. */
export function exprType(e: Expr, lookup: Lookup): StaticType {
  switch (e.kind) {
    case "Number":
      return e.isInteger ? "int" : "float";
    case "Bool":
      return "bool";
    case "String":
      return "string";
    case "Size":
      return e.dims.length === 3 ? "shape" : "size";
    case "List":
      return e.items.length === 3 ? "shape" : e.items.length === 2 ? "size" : "unknown";
    case "Name":
      if (e.name === "in") return "int";
      return lookup(e.name) ?? symbolType(e.name) ?? "unknown";
    case "Unary":
      return e.op === "not" ? "bool" : numeric(exprType(e.operand, lookup));
    case "Binary": {
      if (["and", "or", "==", "!=", "<", "<=", ">", ">="].includes(e.op)) return "bool";
      const l = numeric(exprType(e.left, lookup));
      const r = numeric(exprType(e.right, lookup));
      if (e.op === "//") return l === "int" && r === "int" ? "int" : "number";
      if (e.op === "/") return "number";
      return l === "int" && r === "int"
        ? "int"
        : l === "float" || r === "float"
          ? "float"
          : "number";
    }
    case "Conditional": {
      const t = exprType(e.then, lookup);
      return t === "unknown" ? exprType(e.otherwise, lookup) : t;
    }
    case "Call":
      return ["floor", "ceil", "round"].includes(e.callee.name) ? "int" : "number";
    case "Quantity":
    case "Range":
      return "unknown";
  }
}

function numeric(t: StaticType): StaticType {
  return t === "int" || t === "float" ? t : "number";
}

/** Whether a value of static type `t` can fill an attribute of this kind (elaborate's `accepts`). */
export function acceptsStatic(kind: AttrKind, t: StaticType): boolean {
  switch (kind) {
    case "int":
      return t === "int" || t === "number";
    case "number":
      return t === "int" || t === "float" || t === "number";
    case "size":
      return t === "size" || t === "int" || t === "number";
    case "parts":
      // A count, or regular / depthwise: bare only on `shuffle 4`, as `parts` is keyword-only.
      return t === "parts" || t === "int" || t === "number";
    case "pads":
      return t === "pads" || t === "size" || t === "int" || t === "number";
    default:
      return t === kind;
  }
}

/** The static type a value filling an attribute of this kind has. */
export function kindType(kind: AttrKind): StaticType {
  return kind === "int" || kind === "number" ? "number" : kind;
}

/**
 * Which attribute each argument of a layer statement fills, as `bindOpArgs` decides at
 * elaboration: keywords by name, then bare values by kind in declaration order. An argument of
 * unknown type takes the first open slot.
 */
export function bindLayer(op: OpSpec, stmt: LayerStmt, lookup: Lookup): Map<string, Expr> {
  const bound = new Map<string, Expr>();
  const positional: Expr[] = [];
  for (const arg of stmt.args) {
    if (!arg.name) positional.push(arg.value);
    else if (!op.attrs.some((a) => a.name === arg.name!.name)) {
      throw new StructureError(`${op.name} has no argument '${arg.name.name}'`);
    } else bound.set(arg.name.name, arg.value);
  }
  for (const value of positional) {
    const t = exprType(value, lookup);
    const open = op.attrs.filter((a) => a.positional && !bound.has(a.name));
    // A float that fits nowhere goes where the compiler takes a whole one, to be refused there
    // when it is evaluated (E0303): only a branch taken for some arguments may hold it.
    const slot =
      t === "unknown"
        ? open[0]
        : (open.find((a) => acceptsStatic(a.kind, t)) ??
          (t === "float" ? open.find((a) => a.kind === "int" || a.kind === "size") : undefined));
    if (!slot) throw new StructureError(`no argument of ${op.name} takes this ${t} value`);
    bound.set(slot.name, value);
  }
  return bound;
}

/** Which parameter each argument of a block call fills: by position, or by name. */
export function bindCall(decl: BlockDecl, args: readonly Arg[]): Map<string, Expr> {
  const bound = new Map<string, Expr>();
  let next = 0;
  for (const arg of args) {
    const param = arg.name
      ? decl.params.find((p) => p.name.name === arg.name!.name)
      : decl.params[next++];
    if (!param) throw new StructureError(`block ${decl.name.name}: an argument fills no parameter`);
    bound.set(param.name.name, arg.value);
  }
  return bound;
}

/** The blocks a network uses, directly or through other blocks, in declaration order. */
export function usedBlocks(table: DeclTable, network: NetworkDecl): BlockDecl[] {
  const used = new Set<string>();
  const visit = (body: Body) => {
    forEachElement(body, (el) => {
      if (el.kind !== "Layer") return;
      const block = table.blocks.get(el.callee.name);
      if (block && !used.has(block.name.name)) {
        used.add(block.name.name);
        visit(block.body);
      }
    });
  };
  visit(network.body);
  return [...table.blocks.values()].filter((b) => used.has(b.name.name));
}

/** Calls `f` on every element of a body, nested ones included (not into called blocks). */
export function forEachElement(body: Body, f: (el: Element) => void): void {
  for (const stmt of body.stmts) {
    if (stmt.kind !== "Chain") continue;
    for (const el of stmt.elements) {
      f(el);
      switch (el.kind) {
        case "Branches":
          el.branches.forEach((b) => forEachElement(b, f));
          break;
        case "Residual":
          forEachElement(el.body, f);
          if (el.shortcut) forEachElement(el.shortcut, f);
          break;
        case "Repeat":
          forEachElement(el.body, f);
          break;
        case "If":
          forEachElement(el.then, f);
          if (el.otherwise) forEachElement(el.otherwise, f);
          break;
        case "Layer":
          break;
      }
    }
  }
}

/** Calls `f` on every expression in a body (not into nested expressions). */
function forEachExpr(body: Body, f: (e: Expr) => void): void {
  for (const stmt of body.stmts) if (stmt.kind === "Let") f(stmt.value);
  forEachElement(body, (el) => {
    switch (el.kind) {
      case "Layer":
      case "Residual":
        el.args.forEach((a) => f(a.value));
        break;
      case "Repeat":
        f(el.count);
        break;
      case "If":
        f(el.test);
        break;
      case "Branches":
        break;
    }
    // Lets inside nested bodies.
    const bodies =
      el.kind === "Branches"
        ? el.branches
        : el.kind === "Residual"
          ? [el.body, ...(el.shortcut ? [el.shortcut] : [])]
          : el.kind === "Repeat"
            ? [el.body]
            : el.kind === "If"
              ? [el.then, ...(el.otherwise ? [el.otherwise] : [])]
              : [];
    for (const b of bodies) for (const s of b.stmts) if (s.kind === "Let") f(s.value);
  });
}

export type Decl = BlockDecl | NetworkDecl;

/** The static types of every parameter and `let` of the given declarations. */
export type ParamTypes = Map<Decl, Map<string, StaticType>>;

/** Which type wins when a parameter's default says one thing and its uses another. */
function join(a: StaticType | undefined, b: StaticType): StaticType {
  if (a === undefined || a === "unknown") return b;
  if (b === "unknown") return a;
  const num = (t: StaticType) => t === "int" || t === "float" || t === "number";
  // A count that is also used as a partition, a window or a pad widens to the wider type (pad = 1
  // by default may be [t, b, l, r] when called).
  const wide = (t: StaticType) => t === "parts" || t === "size" || t === "pads";
  if (num(a) && wide(b)) return b;
  if (num(b) && wide(a)) return a;
  if (num(a) && num(b)) return a === b ? a : "number";
  return a;
}

/**
 * Infers parameter types: from defaults first, then from every use (an attribute the parameter
 * fills, a block parameter it is passed to, arithmetic, a condition), to a fixed point.
 */
export function inferTypes(table: DeclTable, decls: readonly Decl[]): ParamTypes {
  const types: ParamTypes = new Map(decls.map((d) => [d, new Map<string, StaticType>()]));
  const set = (d: Decl, name: string, t: StaticType) => {
    const m = types.get(d)!;
    const before = m.get(name);
    const after = join(before, t);
    if (after !== before) {
      m.set(name, after);
      return true;
    }
    return false;
  };
  for (let round = 0, changed = true; changed && round < 10; round++) {
    changed = false;
    for (const d of decls) {
      const m = types.get(d)!;
      const lookup: Lookup = (n) => m.get(n);
      const local = (e: Expr): string | undefined =>
        e.kind === "Name" && d.params.some((p) => p.name.name === e.name) ? e.name : undefined;
      for (const p of d.params) {
        if (p.default) changed = set(d, p.name.name, exprType(p.default, lookup)) || changed;
      }
      const lets = (b: Body) => {
        for (const s of b.stmts) {
          if (s.kind === "Let") changed = set(d, s.name.name, exprType(s.value, lookup)) || changed;
        }
      };
      lets(d.body);
      forEachElement(d.body, (el) => {
        if (el.kind === "Branches") el.branches.forEach(lets);
        if (el.kind === "Repeat") lets(el.body);
        if (el.kind === "If") [el.then, el.otherwise].forEach((b) => b && lets(b));
        if (el.kind === "Residual") [el.body, el.shortcut].forEach((b) => b && lets(b));
        if (el.kind === "If") {
          const n = local(el.test);
          if (n) changed = set(d, n, "bool") || changed;
        }
        if (el.kind === "Repeat") {
          const n = local(el.count);
          if (n) changed = set(d, n, "int") || changed;
          if (el.index) changed = set(d, el.index.name, "int") || changed;
        }
        if (el.kind === "Residual") {
          for (const a of el.args) {
            const n = local(a.value);
            if (n) changed = set(d, n, "bool") || changed;
          }
        }
        if (el.kind !== "Layer") return;
        const op = ops.get(el.callee.name);
        if (op) {
          for (const [attr, value] of bindLayer(op, el, lookup)) {
            const n = local(value);
            const spec = op.attrs.find((a) => a.name === attr)!;
            if (n) changed = set(d, n, kindType(spec.kind)) || changed;
          }
          return;
        }
        const block = table.blocks.get(el.callee.name);
        const callee = block && types.get(block);
        if (!block || !callee) return;
        for (const [param, value] of bindCall(block, el.args)) {
          const n = local(value);
          const t = callee.get(param);
          if (n && t) changed = set(d, n, t) || changed;
          // And the other way: a literal or typed argument tells the callee's parameter.
          const vt = exprType(value, lookup);
          if (vt !== "unknown") changed = set(block, param, vt) || changed;
        }
      });
      forEachExpr(d.body, (e) => {
        walkExpr(e, (x) => {
          if (x.kind === "Binary" && !["and", "or", "==", "!="].includes(x.op)) {
            for (const side of [x.left, x.right]) {
              const n = local(side);
              if (n) changed = set(d, n, "number") || changed;
            }
          }
          if (x.kind === "Binary" && (x.op === "and" || x.op === "or")) {
            for (const side of [x.left, x.right]) {
              const n = local(side);
              if (n) changed = set(d, n, "bool") || changed;
            }
          }
          if (x.kind === "Unary" && x.op === "not") {
            const n = local(x.operand);
            if (n) changed = set(d, n, "bool") || changed;
          }
        });
      });
    }
  }
  return types;
}

/** Calls `f` on an expression and every expression inside it. */
export function walkExpr(e: Expr, f: (e: Expr) => void): void {
  f(e);
  switch (e.kind) {
    case "List":
      e.items.forEach((i) => walkExpr(i, f));
      break;
    case "Unary":
      walkExpr(e.operand, f);
      break;
    case "Binary":
      walkExpr(e.left, f);
      walkExpr(e.right, f);
      break;
    case "Conditional":
      walkExpr(e.test, f);
      walkExpr(e.then, f);
      walkExpr(e.otherwise, f);
      break;
    case "Call":
      e.args.forEach((a) => walkExpr(a.value, f));
      break;
    case "Quantity":
      walkExpr(e.amount, f);
      break;
    case "Range":
      [e.start, e.end, ...(e.step ? [e.step] : [])].forEach((x) => walkExpr(x, f));
      break;
    default:
      break;
  }
}

/**
 * The comment written directly above a declaration (no blank line between), without the `#`s;
 * for a network without one, the comment that opens its file.
 */
export function docComment(loaded: Loaded, decl: Decl): string | undefined {
  const mod = loaded.modules.find((m) => m.file === decl.span.file);
  if (!mod) return undefined;
  const lines: string[] = [];
  let want = decl.span.start.line - 1;
  for (let i = mod.comments.length - 1; i >= 0; i--) {
    const c = mod.comments[i]!;
    if (c.startLine === undefined || c.startLine > want) continue;
    if (c.startLine < want) break;
    lines.unshift(c.image.replace(/^#\s?/, "").trimEnd());
    want--;
  }
  if (lines.length === 0 && decl.kind === "NetworkDecl") {
    const first = mod.comments[0];
    if (first?.startLine === 1) {
      for (const c of mod.comments) {
        if (c.startLine !== lines.length + 1) break;
        lines.push(c.image.replace(/^#\s?/, "").trimEnd());
      }
    }
  }
  return lines.length ? lines.join("\n") : undefined;
}
