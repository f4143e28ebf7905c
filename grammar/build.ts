import type { CstNode, IToken } from "chevrotain";
import type * as A from "./ast.js";
import { notPrecedence, precedence, rangePrecedence, stepPrecedence } from "./precedence.js";
import type { Position, Span } from "./span.js";
import { error, type Diagnostic } from "./diagnostic.js";
import { limits } from "./limits.js";

/**
 * Turns chevrotain's CST into the typed AST. The parser recovers from errors, so any child may be
 * missing here; placeholders keep the tree well-formed and the errors are already reported.
 */
export function buildProgram(
  file: string,
  text: string,
  cst: CstNode,
  diagnostics: Diagnostic[] = [],
): A.Program {
  return new Builder(file, text, diagnostics).program(cst);
}

export function buildExpression(
  file: string,
  text: string,
  cst: CstNode,
  diagnostics: Diagnostic[] = [],
): A.Expr {
  return new Builder(file, text, diagnostics).expression(cst);
}

// Children under a rule's name are CST nodes; under a token's name, tokens. No filtering needed.
type Children = Record<string, (CstNode | IToken)[] | undefined>;
const nodesOf = (c: Children, key: string): CstNode[] => (c[key] as CstNode[] | undefined) ?? [];
const nodeOf = (c: Children, key: string, i = 0): CstNode | undefined =>
  (c[key] as CstNode[] | undefined)?.[i];
const tokenOf = (c: Children, key: string, i = 0): IToken | undefined =>
  (c[key] as IToken[] | undefined)?.[i];

// The operand of `not` takes everything that binds tighter than `not` itself.
const notOperandPrecedence = notPrecedence + 1;

class Builder {
  /** Offsets where each line starts, to turn CST offsets into lines and columns. */
  private readonly lineStarts: number[] = [0];

  constructor(
    private readonly file: string,
    private readonly text: string,
    /** What the grammar accepts but the language does not; the parser reported the rest. */
    private readonly diagnostics: Diagnostic[],
  ) {
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      if (ch === 10 || (ch === 13 && text.charCodeAt(i + 1) !== 10)) this.lineStarts.push(i + 1);
    }
  }

  private pos(offset: number): Position {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { offset, line: lo + 1, column: offset - this.lineStarts[lo]! + 1 };
  }

  private spanOf(start: number, endInclusive: number): Span {
    if (Number.isNaN(start)) return this.emptySpan();
    const end = Number.isNaN(endInclusive) ? start : endInclusive;
    return { file: this.file, start: this.pos(start), end: this.pos(end + 1) };
  }

  private span(node: CstNode): Span {
    const l = node.location;
    return l ? this.spanOf(l.startOffset, l.endOffset ?? l.startOffset) : this.emptySpan();
  }

  private emptySpan(): Span {
    const p = { offset: 0, line: 1, column: 1 };
    return { file: this.file, start: p, end: p };
  }

  private tok(t: IToken): Span {
    return this.spanOf(t.startOffset, t.endOffset ?? t.startOffset);
  }

  private atomicSpan(n: CstNode, c: Children): Span {
    const prefixes = [
      ...((c["Minus"] as IToken[] | undefined) ?? []),
      ...((c["Not"] as IToken[] | undefined) ?? []),
    ];
    const full = this.span(n);
    if (prefixes.length === 0) return full;
    const last = Math.max(...prefixes.map((p) => p.endOffset ?? p.startOffset));
    let start = last + 1;
    while (this.text.charCodeAt(start) === 32 || this.text.charCodeAt(start) === 9) start++;
    return { ...full, start: this.pos(start) };
  }

  private ident(t: IToken | undefined, fallback: Span): A.Ident {
    if (!t || Number.isNaN(t.startOffset))
      return { kind: "Ident", name: "<missing>", span: fallback };
    return { kind: "Ident", name: t.image, span: this.tok(t) };
  }

  program(cst: CstNode): A.Program {
    const c = cst.children as Children;
    const imports = nodesOf(c, "importDecl").map((n) => this.importDecl(n));
    const decls: A.Decl[] = [];
    for (const n of nodesOf(c, "declaration")) {
      const d = this.declaration(n);
      if (d) decls.push(d);
    }
    return { kind: "Program", imports, decls, span: this.span(cst) };
  }

  private importDecl(n: CstNode): A.ImportDecl {
    const s = tokenOf(n.children as Children, "StringLiteral");
    const path: A.StringLit = s
      ? { kind: "String", value: unquote(s.image), span: this.tok(s) }
      : { kind: "String", value: "", span: this.span(n) };
    return { kind: "Import", path, span: this.span(n) };
  }

  private declaration(n: CstNode): A.Decl | undefined {
    const c = n.children as Children;
    const block = nodeOf(c, "blockDecl") ?? nodeOf(c, "networkDecl");
    if (block) {
      const cc = block.children as Children;
      const span = this.span(block);
      const name = this.ident(tokenOf(cc, "Identifier"), span);
      const paramsNode = nodeOf(cc, "params");
      const params = paramsNode ? this.params(paramsNode) : [];
      const body = this.body(nodeOf(cc, "body"), span);
      return block.name === "blockDecl"
        ? { kind: "BlockDecl", name, params, body, span }
        : { kind: "NetworkDecl", name, params, body, span };
    }
    const config = nodeOf(c, "trainDecl") ?? nodeOf(c, "experimentDecl");
    if (config) {
      const cc = config.children as Children;
      const span = this.span(config);
      const name = this.ident(tokenOf(cc, "Identifier"), span);
      const entries = this.entries(nodeOf(cc, "entries"));
      return config.name === "trainDecl"
        ? { kind: "TrainDecl", name, entries, span }
        : { kind: "ExperimentDecl", name, entries, span };
    }
    const expect = nodeOf(c, "expectDecl");
    if (!expect) return undefined;
    const cc = expect.children as Children;
    const span = this.span(expect);
    const callee = this.ident(tokenOf(cc, "Identifier"), span);
    const argNode = nodeOf(cc, "argList");
    const target: A.CallExpr = {
      kind: "Call",
      callee,
      args: argNode ? this.argList(argNode) : [],
      span: callee.span,
    };
    return { kind: "ExpectDecl", target, entries: this.entries(nodeOf(cc, "entries")), span };
  }

  private params(n: CstNode): A.Param[] {
    return nodesOf(n.children as Children, "param").map((p) => {
      const c = p.children as Children;
      const span = this.span(p);
      const e = nodeOf(c, "expression");
      const name = this.ident(tokenOf(c, "Identifier"), span);
      return e
        ? { kind: "Param", name, default: this.expression(e), span }
        : { kind: "Param", name, span };
    });
  }

  private entries(n: CstNode | undefined): A.Entry[] {
    if (!n) return [];
    return nodesOf(n.children as Children, "entry").map((e) => {
      const c = e.children as Children;
      const span = this.span(e);
      const argNode = nodeOf(c, "argList");
      return {
        kind: "Entry",
        key: this.ident(tokenOf(c, "Identifier"), span),
        args: argNode ? this.argList(argNode) : [],
        span,
      };
    });
  }

  private body(n: CstNode | undefined, fallback: Span): A.Body {
    if (!n) return { kind: "Body", stmts: [], span: fallback };
    const stmts = nodesOf(n.children as Children, "statement").map((s) => this.statement(s));
    return { kind: "Body", stmts, span: this.span(n) };
  }

  private statement(n: CstNode): A.Stmt {
    const c = n.children as Children;
    const span = this.span(n);
    if (tokenOf(c, "Let")) {
      const e = nodeOf(c, "expression");
      return {
        kind: "Let",
        name: this.ident(tokenOf(c, "Identifier"), span),
        value: e ? this.expression(e) : this.missingExpr(span),
        span,
      };
    }
    // Elements of different kinds sit under different keys; offsets restore the chain's order.
    const nodes = elementKeys.flatMap((k) => nodesOf(c, k));
    if (nodes.length > 1)
      nodes.sort((a, b) => (a.location?.startOffset ?? 0) - (b.location?.startOffset ?? 0));
    const elements: A.Element[] = [];
    for (const e of nodes) {
      const el = this.element(e);
      if (el) elements.push(el);
    }
    return { kind: "Chain", elements, span };
  }

  private mixedArgs(cc: Children): A.Arg[] {
    const argNode = nodeOf(cc, "argList");
    const bare = nodesOf(cc, "arg");
    if (!argNode) return bare.map((a) => this.arg(a));
    return [...this.argList(argNode), ...bare.map((a) => this.arg(a))];
  }

  private element(n: CstNode): A.Element | undefined {
    switch (n.name) {
      case "layer":
        return this.layer(n);
      case "branches":
        return this.branches(n);
      case "residual":
        return this.residual(n);
      case "repeat":
        return this.repeat(n);
      case "ifStmt":
        return this.ifStmt(n);
      default:
        return undefined;
    }
  }

  private layer(layer: CstNode): A.LayerStmt {
    const cc = layer.children as Children;
    const span = this.span(layer);
    const stray = nodeOf(cc, "strayBody");
    if (stray) this.strayBody(tokenOf(cc, "Identifier"), stray);
    return {
      kind: "Layer",
      callee: this.ident(tokenOf(cc, "Identifier"), span),
      args: this.mixedArgs(cc),
      parenthesized: tokenOf(cc, "LParen") !== undefined,
      span,
    };
  }

  /** `multiply { branch ... }` or `conv 3x3 64 { ... }`: one error that says what takes a body. */
  private strayBody(callee: IToken | undefined, n: CstNode): void {
    const name = callee?.image ?? "this";
    const at = callee && !Number.isNaN(callee.startOffset) ? this.tok(callee) : this.span(n);
    const hasBranches = tokenOf(n.children as Children, "Branch") !== undefined;
    this.diagnostics.push(
      hasBranches
        ? error(
            "E0102",
            at,
            `'${name}' is not a join: only concat, add and mul take { branch { ... } ... }`,
            "add { branch { ... } branch { ... } } sums the branches; mul { ... } multiplies them; concat { ... } stacks their channels",
          )
        : error(
            "E0102",
            at,
            `'${name}' cannot take a body '{ ... }': only residual, repeat, if, concat, add and mul do`,
            "to apply layers one after another, chain them with '->'",
          ),
    );
  }

  private branches(branches: CstNode): A.BranchesStmt {
    const cc = branches.children as Children;
    const span = this.span(branches);
    return {
      kind: "Branches",
      join: tokenOf(cc, "Concat") ? "concat" : tokenOf(cc, "Mul") ? "mul" : "add",
      branches: nodesOf(cc, "body").map((b) => this.body(b, span)),
      span,
    };
  }

  private residual(residual: CstNode): A.ResidualStmt {
    const cc = residual.children as Children;
    const span = this.span(residual);
    const bodies = nodesOf(cc, "body");
    const args = this.mixedArgs(cc);
    const body = this.body(bodies[0], span);
    return bodies[1]
      ? { kind: "Residual", args, body, shortcut: this.body(bodies[1], span), span }
      : { kind: "Residual", args, body, span };
  }

  private repeat(repeat: CstNode): A.RepeatStmt {
    const cc = repeat.children as Children;
    const span = this.span(repeat);
    const e = nodeOf(cc, "expression");
    const idx = tokenOf(cc, "Identifier");
    const base = {
      kind: "Repeat" as const,
      count: e ? this.expression(e) : this.missingExpr(span),
      body: this.body(nodeOf(cc, "body"), span),
      span,
    };
    return idx ? { ...base, index: this.ident(idx, span) } : base;
  }

  private ifStmt(n: CstNode): A.IfStmt {
    const c = n.children as Children;
    const span = this.span(n);
    const e = nodeOf(c, "expression");
    const test = e ? this.expression(e) : this.missingExpr(span);
    const bodies = nodesOf(c, "body");
    const then = this.body(bodies[0], span);
    const elseIf = nodeOf(c, "ifStmt");
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
    return nodesOf(n.children as Children, "arg").map((a) => this.arg(a));
  }

  private arg(n: CstNode): A.Arg {
    const c = n.children as Children;
    const span = this.span(n);
    const e = nodeOf(c, "expression");
    const value = e ? this.expression(e) : this.missingExpr(span);
    const name = tokenOf(c, "Identifier");
    return name
      ? { kind: "Arg", name: this.ident(name, span), value, span }
      : { kind: "Arg", value, span };
  }

  private missingExpr(span: Span): A.Expr {
    return { kind: "Name", name: "<missing>", span };
  }

  expression(n: CstNode): A.Expr {
    const c = n.children as Children;
    const test = this.binary(n, c);
    const branches = nodesOf(c, "expression");
    if (tokenOf(c, "Question") && branches.length === 2) {
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

  /** Precedence climbing over the flat operand/operator lists of the `expression` rule. */
  private binary(n: CstNode, c: Children): A.Expr {
    const operands = nodesOf(c, "operand");
    const ops = (c["BinaryOperator"] as IToken[] | undefined) ?? [];
    if (ops.length === 0)
      return operands[0] ? this.operand(operands[0], 0) : this.missingExpr(this.span(n));
    // Each operator is one level of the tree, and every pass over it recurses per level.
    if (ops.length > limits.operators) {
      this.diagnostics.push(
        error(
          "E0106",
          this.tok(ops[limits.operators]!),
          `an expression with ${ops.length} operators: at most ${limits.operators} are allowed`,
          "split it with let, e.g. let a = ...",
        ),
      );
      return this.missingExpr(this.span(n));
    }
    let pos = 0;
    const operand = (k: number, from: number): A.Expr => {
      const node = operands[k];
      return node ? this.operand(node, from, climb) : this.missingExpr(this.span(n));
    };
    const climb = (minPrec: number, first: () => A.Expr = () => operand(pos, 0)): A.Expr => {
      let left = first();
      while (pos < ops.length) {
        const op = ops[pos]!;
        const prec =
          op.image === ".."
            ? rangePrecedence
            : op.image === "step"
              ? stepPrecedence
              : (precedence[op.image as A.BinaryOp] ?? 0);
        if (prec < minPrec) break;
        pos++;
        const right = climb(prec + 1);
        left = this.infix(op, left, right);
      }
      return left;
    };
    return climb(0);
  }

  /** `left op right`; `..` makes a range and `step` gives one its step. */
  private infix(op: IToken, left: A.Expr, right: A.Expr): A.Expr {
    const span = { ...left.span, end: right.span.end };
    if (op.image === "..") {
      if (left.kind === "Range")
        this.diagnostics.push(
          error("E0102", this.tok(op), "ranges do not chain", "write one range: 1..16 step 2"),
        );
      return { kind: "Range", start: left, end: right, span };
    }
    if (op.image === "step") {
      if (left.kind !== "Range" || left.step) {
        this.diagnostics.push(
          error(
            "E0102",
            this.tok(op),
            left.kind === "Range" ? "a range takes one step" : "'step' follows a range",
            "e.g. 16..64 step 16",
          ),
        );
        return left;
      }
      return { ...left, step: right, span };
    }
    return { kind: "Binary", op: op.image as A.BinaryOp, left, right, span };
  }

  /**
   * An operand with its prefix operators from index `from` on. `-` binds tightest; `not` takes
   * the rest of the expression down to comparisons, so it needs the caller's climber.
   */
  private operand(
    n: CstNode,
    from: number,
    climb?: (min: number, first: () => A.Expr) => A.Expr,
  ): A.Expr {
    const c = n.children as Children;
    const minus = c["Minus"] as IToken[] | undefined;
    const not = c["Not"] as IToken[] | undefined;
    if (!minus && !not) return this.atomic(n);
    const prefixes = [...(minus ?? []), ...(not ?? [])].sort(
      (a, b) => a.startOffset - b.startOffset,
    );
    const build = (i: number): A.Expr => {
      const p = prefixes[i];
      if (!p) return this.atomic(n);
      const start = this.pos(p.startOffset);
      if (p.image === "-") {
        const operand = build(i + 1);
        const span = { ...operand.span, start };
        if (operand.kind === "Number")
          return { ...operand, value: -operand.value, raw: `-${operand.raw}`, span };
        return { kind: "Unary", op: "-", operand, span };
      }
      const operand = climb ? climb(notOperandPrecedence, () => build(i + 1)) : build(i + 1);
      return { kind: "Unary", op: "not", operand, span: { ...operand.span, start } };
    };
    return build(from);
  }

  /** The operand's value itself; its span starts after any prefix operators. */
  private atomic(n: CstNode): A.Expr {
    const c = n.children as Children;
    const span = this.atomicSpan(n, c);
    const num = tokenOf(c, "NumberLiteral");
    if (num) {
      const value = numberValue(num.image);
      const lit: A.NumberLit = {
        kind: "Number",
        value,
        isInteger: /^\d+$/.test(num.image) || (/[kMG]$/.test(num.image) && Number.isInteger(value)),
        raw: num.image,
        span: this.tok(num),
      };
      const unit = tokenOf(c, "Unit");
      if (!unit) return lit;
      const u = unit.image === "epoch" ? "epochs" : (unit.image as A.QuantityExpr["unit"]);
      return { kind: "Quantity", amount: lit, unit: u, span };
    }
    const time = tokenOf(c, "TimeLiteral");
    if (time) {
      const [, digits = "", unit] = /^(.*?)(ms|us|s)$/.exec(time.image)!;
      const amount: A.NumberLit = {
        kind: "Number",
        value: Number(digits),
        isInteger: /^\d+$/.test(digits),
        raw: digits,
        span: this.tok(time),
      };
      return { kind: "Quantity", amount, unit: unit as A.TimeUnit, span };
    }
    const size = tokenOf(c, "SizeLiteral");
    if (size) {
      const [dimsText, strideText] = size.image.split("/");
      const dims = (dimsText ?? "").split("x").map(Number);
      return strideText === undefined
        ? { kind: "Size", dims, span }
        : { kind: "Size", dims, stride: Number(strideText), span };
    }
    const str = tokenOf(c, "StringLiteral");
    if (str) return { kind: "String", value: unquote(str.image), span };
    if (tokenOf(c, "True")) return { kind: "Bool", value: true, span };
    if (tokenOf(c, "False")) return { kind: "Bool", value: false, span };
    const id = tokenOf(c, "Identifier");
    if (id) {
      if (tokenOf(c, "LParen")) {
        const argNode = nodeOf(c, "argList");
        return {
          kind: "Call",
          callee: this.ident(id, span),
          args: argNode ? this.argList(argNode) : [],
          span,
        };
      }
      return { kind: "Name", name: id.image, span };
    }
    if (tokenOf(c, "LBracket")) {
      return { kind: "List", items: nodesOf(c, "expression").map((e) => this.expression(e)), span };
    }
    const inner = nodeOf(c, "expression");
    return inner ? this.expression(inner) : this.missingExpr(span);
  }
}

const elementKeys = ["layer", "residual", "branches", "repeat", "ifStmt"];

function unquote(s: string): string {
  return s.slice(1, -1).replace(/\\(.)/g, (_, ch: string) => (ch === "n" ? "\n" : ch));
}

const suffixes: Readonly<Record<string, number>> = { k: 1e3, M: 1e6, G: 1e9 };

/** A number literal's value: `20M` is 20,000,000, `1.5k` is 1,500. */
function numberValue(image: string): number {
  const scale = suffixes[image[image.length - 1]!];
  return scale === undefined
    ? Number(image)
    : Math.round(Number(image.slice(0, -1)) * scale * 1e6) / 1e6;
}
