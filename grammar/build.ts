import type { CstElement, CstNode, IToken } from "chevrotain";
import type * as A from "./ast.js";
import { tokenSpan } from "./lexer.js";
import type { Span } from "./span.js";

/**
 * Turns chevrotain's CST into the typed AST. The parser recovers from errors, so any child may be
 * missing here; placeholders keep the tree well-formed and the errors are already reported.
 */
export function buildProgram(file: string, cst: CstNode): A.Program {
  return new Builder(file).program(cst);
}

type Children = Record<string, CstElement[] | undefined>;

function isToken(e: CstElement): e is IToken {
  return (e as IToken).image !== undefined;
}

class Builder {
  constructor(private readonly file: string) {}

  private span(node: CstNode): Span {
    const l = node.location;
    if (!l || Number.isNaN(l.startOffset)) return this.emptySpan();
    const startLine = l.startLine ?? 1;
    const startColumn = l.startColumn ?? 1;
    const endOffset = Number.isNaN(l.endOffset ?? NaN)
      ? l.startOffset
      : (l.endOffset ?? l.startOffset);
    return {
      file: this.file,
      start: { offset: l.startOffset, line: startLine, column: startColumn },
      end: {
        offset: endOffset + 1,
        line: l.endLine ?? startLine,
        column: (l.endColumn ?? startColumn) + 1,
      },
    };
  }

  private emptySpan(): Span {
    const p = { offset: 0, line: 1, column: 1 };
    return { file: this.file, start: p, end: p };
  }

  private tok(t: IToken): Span {
    if (Number.isNaN(t.startOffset)) return this.emptySpan();
    return tokenSpan(this.file, t);
  }

  private nodes(c: Children, key: string): CstNode[] {
    return (c[key] ?? []).filter((e): e is CstNode => !isToken(e));
  }
  private tokens(c: Children, key: string): IToken[] {
    return (c[key] ?? []).filter(isToken);
  }
  private node(c: Children, key: string, i = 0): CstNode | undefined {
    return this.nodes(c, key)[i];
  }
  private token(c: Children, key: string, i = 0): IToken | undefined {
    return this.tokens(c, key)[i];
  }

  private ident(t: IToken | undefined, fallback: Span): A.Ident {
    if (!t || Number.isNaN(t.startOffset))
      return { kind: "Ident", name: "<missing>", span: fallback };
    return { kind: "Ident", name: t.image, span: this.tok(t) };
  }

  program(cst: CstNode): A.Program {
    const c = cst.children as Children;
    const imports = this.nodes(c, "importDecl").map((n) => this.importDecl(n));
    const decls = this.nodes(c, "declaration")
      .map((n) => this.declaration(n))
      .filter((d): d is A.Decl => d !== undefined);
    return { kind: "Program", imports, decls, span: this.span(cst) };
  }

  private importDecl(n: CstNode): A.ImportDecl {
    const c = n.children as Children;
    const s = this.token(c, "StringLiteral");
    const path: A.StringLit = s
      ? { kind: "String", value: unquote(s.image), span: this.tok(s) }
      : { kind: "String", value: "", span: this.span(n) };
    return { kind: "Import", path, span: this.span(n) };
  }

  private declaration(n: CstNode): A.Decl | undefined {
    const c = n.children as Children;
    const [key, inner] = Object.entries(c)[0] ?? [];
    const child = inner?.[0];
    if (!key || !child || isToken(child)) return undefined;
    switch (key) {
      case "blockDecl":
      case "networkDecl": {
        const cc = child.children as Children;
        const span = this.span(child);
        const name = this.ident(this.token(cc, "Identifier"), span);
        const paramsNode = this.node(cc, "params");
        const params = paramsNode ? this.params(paramsNode) : [];
        const body = this.body(this.node(cc, "body"), span);
        return key === "blockDecl"
          ? { kind: "BlockDecl", name, params, body, span }
          : { kind: "NetworkDecl", name, params, body, span };
      }
      case "trainDecl":
      case "experimentDecl": {
        const cc = child.children as Children;
        const span = this.span(child);
        const name = this.ident(this.token(cc, "Identifier"), span);
        const entries = this.entries(this.node(cc, "entries"));
        return key === "trainDecl"
          ? { kind: "TrainDecl", name, entries, span }
          : { kind: "ExperimentDecl", name, entries, span };
      }
      case "expectDecl": {
        const cc = child.children as Children;
        const span = this.span(child);
        const callee = this.ident(this.token(cc, "Identifier"), span);
        const argNode = this.node(cc, "argList");
        const target: A.CallExpr = {
          kind: "Call",
          callee,
          args: argNode ? this.argList(argNode) : [],
          span: callee.span,
        };
        return {
          kind: "ExpectDecl",
          target,
          entries: this.entries(this.node(cc, "entries")),
          span,
        };
      }
      default:
        return undefined;
    }
  }

  private params(n: CstNode): A.Param[] {
    return this.nodes(n.children as Children, "param").map((p) => {
      const c = p.children as Children;
      const span = this.span(p);
      const e = this.node(c, "expression");
      const name = this.ident(this.token(c, "Identifier"), span);
      return e
        ? { kind: "Param", name, default: this.expression(e), span }
        : { kind: "Param", name, span };
    });
  }

  private entries(n: CstNode | undefined): A.Entry[] {
    if (!n) return [];
    return this.nodes(n.children as Children, "entry").map((e) => {
      const c = e.children as Children;
      const span = this.span(e);
      const argNode = this.node(c, "argList");
      return {
        kind: "Entry",
        key: this.ident(this.token(c, "Identifier"), span),
        args: argNode ? this.argList(argNode) : [],
        span,
      };
    });
  }

  private body(n: CstNode | undefined, fallback: Span): A.Body {
    if (!n) return { kind: "Body", stmts: [], span: fallback };
    const stmts = this.nodes(n.children as Children, "statement").map((s) => this.statement(s));
    return { kind: "Body", stmts, span: this.span(n) };
  }

  private statement(n: CstNode): A.Stmt {
    const c = n.children as Children;
    const span = this.span(n);
    if (this.token(c, "Let")) {
      const e = this.node(c, "expression");
      return {
        kind: "Let",
        name: this.ident(this.token(c, "Identifier"), span),
        value: e ? this.expression(e) : this.missingExpr(span),
        span,
      };
    }
    const elements = this.nodes(c, "element")
      .map((e) => this.element(e))
      .filter((e): e is A.Element => e !== undefined);
    return { kind: "Chain", elements, span };
  }

  private element(n: CstNode): A.Element | undefined {
    const c = n.children as Children;
    const [key, inner] = Object.entries(c)[0] ?? [];
    const child = inner?.[0];
    if (!key || !child || isToken(child)) return undefined;
    const cc = child.children as Children;
    const span = this.span(child);
    switch (key) {
      case "layer": {
        const argNode = this.node(cc, "argList");
        const args = [
          ...(argNode ? this.argList(argNode) : []),
          ...this.nodes(cc, "arg").map((a) => this.arg(a)),
        ];
        return {
          kind: "Layer",
          callee: this.ident(this.token(cc, "Identifier"), span),
          args,
          parenthesized: this.token(cc, "LParen") !== undefined,
          span,
        };
      }
      case "branches":
        return {
          kind: "Branches",
          join: this.token(cc, "Concat") ? "concat" : "add",
          branches: this.nodes(cc, "body").map((b) => this.body(b, span)),
          span,
        };
      case "residual": {
        const argNode = this.node(cc, "argList");
        const args = [
          ...(argNode ? this.argList(argNode) : []),
          ...this.nodes(cc, "arg").map((a) => this.arg(a)),
        ];
        const bodies = this.nodes(cc, "body");
        const body = this.body(bodies[0], span);
        return bodies[1]
          ? { kind: "Residual", args, body, shortcut: this.body(bodies[1], span), span }
          : { kind: "Residual", args, body, span };
      }
      case "repeat": {
        const e = this.node(cc, "expression");
        const idx = this.token(cc, "Identifier");
        const base = {
          kind: "Repeat" as const,
          count: e ? this.expression(e) : this.missingExpr(span),
          body: this.body(this.node(cc, "body"), span),
          span,
        };
        return idx ? { ...base, index: this.ident(idx, span) } : base;
      }
      case "ifStmt":
        return this.ifStmt(child);
      default:
        return undefined;
    }
  }

  private ifStmt(n: CstNode): A.IfStmt {
    const c = n.children as Children;
    const span = this.span(n);
    const e = this.node(c, "expression");
    const test = e ? this.expression(e) : this.missingExpr(span);
    const bodies = this.nodes(c, "body");
    const then = this.body(bodies[0], span);
    const elseIf = this.node(c, "ifStmt");
    if (elseIf) {
      const nested = this.ifStmt(elseIf);
      const chain: A.ChainStmt = { kind: "Chain", elements: [nested], span: nested.span };
      return {
        kind: "If",
        test,
        then,
        otherwise: { kind: "Body", stmts: [chain], span: nested.span },
        span,
      };
    }
    return bodies[1]
      ? { kind: "If", test, then, otherwise: this.body(bodies[1], span), span }
      : { kind: "If", test, then, span };
  }

  private argList(n: CstNode): A.Arg[] {
    return this.nodes(n.children as Children, "arg").map((a) => this.arg(a));
  }

  private arg(n: CstNode): A.Arg {
    const c = n.children as Children;
    const span = this.span(n);
    const e = this.node(c, "expression");
    const value = e ? this.expression(e) : this.missingExpr(span);
    const name = this.token(c, "Identifier");
    return name
      ? { kind: "Arg", name: this.ident(name, span), value, span }
      : { kind: "Arg", value, span };
  }

  private missingExpr(span: Span): A.Expr {
    return { kind: "Name", name: "<missing>", span };
  }

  // Binary levels: operands and operators come in separate child lists; offsets restore order.
  private binaryLevel(n: CstNode, operandKey: string, next: (n: CstNode) => A.Expr): A.Expr {
    const c = n.children as Children;
    const operands = this.nodes(c, operandKey).map(next);
    const ops = Object.entries(c)
      .filter(([k]) => k !== operandKey)
      .flatMap(([, v]) => (v ?? []).filter(isToken))
      .sort((a, b) => a.startOffset - b.startOffset);
    let acc = operands[0] ?? this.missingExpr(this.span(n));
    for (let i = 0; i < ops.length; i++) {
      const right = operands[i + 1];
      if (!right) break;
      const op = opFor(ops[i]!.image);
      acc = { kind: "Binary", op, left: acc, right, span: { ...acc.span, end: right.span.end } };
    }
    return acc;
  }

  expression(n: CstNode): A.Expr {
    const c = n.children as Children;
    const or = this.node(c, "orExpr");
    const test = or
      ? this.binaryLevel(or, "andExpr", (a) =>
          this.binaryLevel(a, "notExpr", (x) => this.notExpr(x)),
        )
      : this.missingExpr(this.span(n));
    const branches = this.nodes(c, "expression");
    if (this.token(c, "Question") && branches.length === 2) {
      return {
        kind: "Conditional",
        test,
        then: this.expression(branches[0]!),
        otherwise: this.expression(branches[1]!),
        span: this.span(n),
      };
    }
    return test;
  }

  private notExpr(n: CstNode): A.Expr {
    const c = n.children as Children;
    const inner = this.node(c, "notExpr");
    if (this.token(c, "Not") && inner) {
      return { kind: "Unary", op: "not", operand: this.notExpr(inner), span: this.span(n) };
    }
    const cmp = this.node(c, "comparison");
    if (!cmp) return this.missingExpr(this.span(n));
    return this.binaryLevel(cmp, "additive", (a) =>
      this.binaryLevel(a, "multiplicative", (m) =>
        this.binaryLevel(m, "unary", (u) => this.unary(u)),
      ),
    );
  }

  private unary(n: CstNode): A.Expr {
    const c = n.children as Children;
    const inner = this.node(c, "unary");
    if (this.token(c, "Minus") && inner) {
      const operand = this.unary(inner);
      if (operand.kind === "Number") {
        return { ...operand, value: -operand.value, raw: `-${operand.raw}`, span: this.span(n) };
      }
      return { kind: "Unary", op: "-", operand, span: this.span(n) };
    }
    const atomic = this.node(c, "atomic");
    return atomic ? this.atomic(atomic) : this.missingExpr(this.span(n));
  }

  private atomic(n: CstNode): A.Expr {
    const c = n.children as Children;
    const span = this.span(n);
    const num = this.token(c, "NumberLiteral");
    if (num) {
      const isInteger = /^\d+$/.test(num.image);
      const lit: A.NumberLit = {
        kind: "Number",
        value: Number(num.image),
        isInteger,
        raw: num.image,
        span: this.tok(num),
      };
      const unit = this.token(c, "Unit");
      if (!unit) return lit;
      const u = unit.image === "epoch" ? "epochs" : (unit.image as A.QuantityExpr["unit"]);
      return { kind: "Quantity", amount: lit, unit: u, span };
    }
    const size = this.token(c, "SizeLiteral");
    if (size) {
      const [dimsText, strideText] = size.image.split("/");
      const dims = (dimsText ?? "").split("x").map(Number);
      return strideText === undefined
        ? { kind: "Size", dims, span }
        : { kind: "Size", dims, stride: Number(strideText), span };
    }
    const str = this.token(c, "StringLiteral");
    if (str) return { kind: "String", value: unquote(str.image), span };
    if (this.token(c, "True")) return { kind: "Bool", value: true, span };
    if (this.token(c, "False")) return { kind: "Bool", value: false, span };
    const id = this.token(c, "Identifier");
    if (id) {
      if (this.tokens(c, "LParen").length > 0) {
        const argNode = this.node(c, "argList");
        return {
          kind: "Call",
          callee: this.ident(id, span),
          args: argNode ? this.argList(argNode) : [],
          span,
        };
      }
      return { kind: "Name", name: id.image, span };
    }
    if (this.token(c, "LBracket")) {
      return {
        kind: "List",
        items: this.nodes(c, "expression").map((e) => this.expression(e)),
        span,
      };
    }
    const inner = this.node(c, "expression");
    return inner ? this.expression(inner) : this.missingExpr(span);
  }
}

function opFor(image: string): A.BinaryOp {
  return image as A.BinaryOp;
}

function unquote(s: string): string {
  return s.slice(1, -1).replace(/\\(.)/g, (_, ch: string) => (ch === "n" ? "\n" : ch));
}

export function buildExpression(file: string, cst: CstNode): A.Expr {
  return new Builder(file).expression(cst);
}
