import type { IToken } from "chevrotain";
import type * as A from "./ast.js";
import { timeUnits } from "./ast.js";
import {
  atomPrecedence,
  conditionalPrecedence,
  negatePrecedence,
  notPrecedence,
  precedence,
  rangePrecedence,
  stepPrecedence,
} from "./precedence.js";

/** The one canonical layout of a `.arch` file; `archc fmt` writes this. */

const indentUnit = "  ";
const maxWidth = 100;

function exprLevel(e: A.Expr): number {
  switch (e.kind) {
    case "Conditional":
      return conditionalPrecedence;
    case "Range":
      return e.step ? stepPrecedence : rangePrecedence;
    case "Binary":
      return precedence[e.op];
    case "Unary":
      return e.op === "not" ? notPrecedence : negatePrecedence;
    case "Number":
      return e.value < 0 ? negatePrecedence : atomPrecedence;
    default:
      return atomPrecedence;
  }
}

export function printExpr(e: A.Expr, min = 0): string {
  const text = printExprBare(e);
  return exprLevel(e) < min ? `(${text})` : text;
}

function printExprBare(e: A.Expr): string {
  switch (e.kind) {
    case "Number":
      return e.raw;
    case "Bool":
      return e.value ? "true" : "false";
    case "String":
      return JSON.stringify(e.value);
    case "Size":
      return e.dims.join("x") + (e.stride !== undefined ? `/${e.stride}` : "");
    case "Name":
      return e.name;
    case "List":
      return `[${e.items.map((i) => printExpr(i)).join(", ")}]`;
    case "Quantity":
      // A time's unit is written on its number (`5ms`); `2 epochs` takes a space.
      return (timeUnits as readonly string[]).includes(e.unit)
        ? `${printExpr(e.amount, atomPrecedence)}${e.unit}`
        : `${printExpr(e.amount, atomPrecedence)} ${e.unit}`;
    case "Range": {
      // Neither `..` nor `step` chains: a nested range on either side keeps its parentheses.
      const range = `${printExpr(e.start, rangePrecedence + 1)}..${printExpr(e.end, rangePrecedence + 1)}`;
      return e.step ? `${range} step ${printExpr(e.step, stepPrecedence + 1)}` : range;
    }
    case "Unary":
      return e.op === "not"
        ? `not ${printExpr(e.operand, notPrecedence)}`
        : `-${printExpr(e.operand, negatePrecedence)}`;
    case "Binary": {
      const l = precedence[e.op];
      // Left-associative: the right operand binds tighter, so equal levels on the right need parens.
      const cmp = l === 4;
      return `${printExpr(e.left, cmp ? l + 1 : l)} ${e.op} ${printExpr(e.right, l + 1)}`;
    }
    case "Conditional":
      return `${printExpr(e.test, conditionalPrecedence + 1)} ? ${printExpr(e.then)} : ${printExpr(e.otherwise)}`;
    case "Call":
      return `${e.callee.name}(${e.args.map(printCallArg).join(", ")})`;
  }
}

function printCallArg(a: A.Arg): string {
  return a.name ? `${a.name.name} = ${printExpr(a.value)}` : printExpr(a.value);
}

/** Bare values other than literals and names get parentheses, so `conv 1x1 (in / 2)` reads as one value. */
function printBareArgs(args: readonly A.Arg[]): string[] {
  return args.map((a) =>
    a.name
      ? `${a.name.name}=${printExpr(a.value, negatePrecedence)}`
      : printExpr(a.value, negatePrecedence),
  );
}

/** Bare form reads best, but a value starting with '(' or '-' would re-parse differently. */
function printLayer(l: A.LayerStmt): string {
  const bare = printBareArgs(l.args);
  const needsCall =
    l.parenthesized || bare.some((b, i) => b.startsWith("-") || (i === 0 && b.startsWith("(")));
  if (needsCall) return `${l.callee.name}(${l.args.map(printCallArg).join(", ")})`;
  return [l.callee.name, ...bare].join(" ");
}

class Printer {
  private readonly lines: string[] = [];
  private next = 0;

  constructor(private readonly comments: readonly IToken[]) {}

  /** Emits, as own lines, every comment that starts before `offset`. */
  private flushComments(offset: number, indent: string, nextLine = Infinity): boolean {
    let any = false;
    while (this.next < this.comments.length && this.comments[this.next]!.startOffset < offset) {
      const c = this.comments[this.next]!;
      this.lines.push(indent + c.image.trimEnd());
      this.next++;
      any = true;
      // A blank line after a comment (a file header, say) is kept: it separates, not annotates.
      const following = this.comments[this.next];
      const after =
        following && following.startOffset < offset ? (following.startLine ?? 0) : nextLine;
      if (after - (c.startLine ?? 0) > 1 && after !== Infinity) this.lines.push("");
    }
    return any;
  }

  /** A comment on the same line as what was just printed stays at the end of that line. */
  private trailing(line: number, after: number): void {
    const c = this.comments[this.next];
    if (c && c.startLine === line && c.startOffset >= after) {
      this.lines[this.lines.length - 1] += `  ${c.image.trimEnd()}`;
      this.next++;
    }
  }

  private hasCommentsWithin(span: A.Program["span"]): boolean {
    const c = this.comments[this.next];
    return c !== undefined && c.startOffset < span.end.offset;
  }

  private emit(text: string, indent: string, node: { span: A.Program["span"] }): void {
    const parts = text.split("\n");
    this.lines.push(...parts.map((p) => (p ? indent + p : "")));
    this.trailing(node.span.end.line, node.span.end.offset - 1);
  }

  program(p: A.Program): string {
    const items: (A.ImportDecl | A.Decl)[] = [...p.imports, ...p.decls].sort(
      (a, b) => a.span.start.offset - b.span.start.offset,
    );
    let prev: A.ImportDecl | A.Decl | undefined;
    for (const item of items) {
      if (prev && !(prev.kind === "Import" && item.kind === "Import")) this.lines.push("");
      this.flushComments(item.span.start.offset, "", item.span.start.line);
      if (item.kind === "Import") {
        this.emit(`import ${JSON.stringify(item.path.value)}`, "", item);
      } else this.decl(item);
      prev = item;
    }
    if (this.next < this.comments.length && this.lines.length) this.lines.push("");
    this.flushComments(Infinity, "");
    return (
      this.lines
        .join("\n")
        .replace(/\n{3,}/g, "\n\n")
        .trim() + "\n"
    );
  }

  private decl(d: A.Decl): void {
    switch (d.kind) {
      case "BlockDecl":
      case "NetworkDecl": {
        const params = d.params.map((p) =>
          p.default ? `${p.name.name} = ${printExpr(p.default)}` : p.name.name,
        );
        const head = d.kind === "BlockDecl" ? "block" : "network";
        const sig = d.kind === "NetworkDecl" && params.length === 0 ? "" : `(${params.join(", ")})`;
        this.lines.push(`${head} ${d.name.name}${sig} {`);
        this.bodyLines(d.body, indentUnit);
        this.lines.push("}");
        return;
      }
      case "TrainDecl":
      case "ExperimentDecl":
      case "ExpectDecl": {
        const head =
          d.kind === "ExpectDecl"
            ? `expect ${d.target.callee.name}${d.target.args.length ? `(${d.target.args.map(printCallArg).join(", ")})` : ""}`
            : `${d.kind === "TrainDecl" ? "train" : "experiment"} ${d.name.name}`;
        this.lines.push(`${head} {`);
        let prev: A.Entry | undefined;
        for (const e of d.entries) {
          this.blankIfGap(prev, e);
          this.flushComments(e.span.start.offset, indentUnit);
          const args = e.args.map(printCallArg).join(", ");
          this.emit(args ? `${e.key.name} ${args}` : e.key.name, indentUnit, e);
          prev = e;
        }
        this.flushComments(d.span.end.offset - 1, indentUnit);
        this.lines.push("}");
        return;
      }
    }
  }

  private blankIfGap(
    prev: { span: A.Program["span"] } | undefined,
    next: { span: A.Program["span"] },
  ): void {
    if (!prev) return;
    const c = this.comments[this.next];
    const nextLine =
      c && c.startOffset < next.span.start.offset
        ? (c.startLine ?? next.span.start.line)
        : next.span.start.line;
    if (nextLine - prev.span.end.line > 1) this.lines.push("");
  }

  private bodyLines(b: A.Body, indent: string): void {
    let prev: A.Stmt | undefined;
    for (const s of b.stmts) {
      this.blankIfGap(prev, s);
      this.flushComments(s.span.start.offset, indent);
      this.emit(this.stmt(s, indent), indent, s);
      prev = s;
    }
    this.flushComments(b.span.end.offset - 1, indent);
  }

  private stmt(s: A.Stmt, indent: string): string {
    if (s.kind === "Let") return `let ${s.name.name} = ${printExpr(s.value)}`;
    const parts = s.elements.map((el) => this.element(el, indent));
    const one = parts.join(" -> ");
    if (!one.includes("\n") && indent.length + one.length > maxWidth && parts.length > 1) {
      return parts.join(`\n${indentUnit}-> `);
    }
    return one;
  }

  /** Elements print relative to `indent`; nested lines carry their extra indentation. */
  private element(el: A.Element, indent: string): string {
    switch (el.kind) {
      case "Layer":
        return printLayer(el);
      case "Branches": {
        const inner = indent + indentUnit;
        const branches = el.branches.map(
          (b) => `${indentUnit}branch ${this.block(b, inner).split("\n").join(`\n${indentUnit}`)}`,
        );
        return `${el.join} {\n${branches.join("\n")}\n}`;
      }
      case "Residual": {
        const args = printBareArgs(el.args);
        const head = ["residual", ...args].join(" ");
        const shortcut = el.shortcut ? ` shortcut ${this.block(el.shortcut, indent)}` : "";
        // The residual body is the main path of a block: always one statement a line.
        return `${head} ${this.block(el.body, indent, false)}${shortcut}`;
      }
      case "Repeat":
        return `repeat ${printExpr(el.count)}${el.index ? ` as ${el.index.name}` : ""} ${this.block(el.body, indent)}`;
      case "If": {
        let text = `if ${printExpr(el.test)} ${this.block(el.then, indent)}`;
        if (el.otherwise) {
          const only = el.otherwise.stmts[0];
          const elseIf =
            el.otherwise.stmts.length === 1 &&
            only?.kind === "Chain" &&
            only.elements.length === 1 &&
            only.elements[0]!.kind === "If" &&
            !this.hasCommentsWithin(el.otherwise.span);
          text += elseIf
            ? ` else ${this.element(only.elements[0]!, indent)}`
            : ` else ${this.block(el.otherwise, indent)}`;
        }
        return text;
      }
    }
  }

  /** `{ x }` on one line when the body is one short plain chain; otherwise one statement a line. */
  private block(b: A.Body, indent: string, inline = true): string {
    const only = b.stmts[0];
    if (b.stmts.length === 0 && !this.hasCommentsWithin(b.span)) return "{}";
    if (
      inline &&
      b.stmts.length === 1 &&
      only?.kind === "Chain" &&
      only.elements.every((e) => e.kind === "Layer") &&
      !this.hasCommentsWithin(b.span)
    ) {
      const text = `{ ${this.stmt(only, indent)} }`;
      if (indent.length + text.length <= maxWidth - 20 && !text.includes("\n")) return text;
    }
    // Nested bodies are printed into a scratch printer sharing the comment cursor.
    const saved = this.lines.length;
    this.bodyLines(b, indentUnit);
    const inner = this.lines.splice(saved);
    return `{\n${inner.join("\n")}\n}`;
  }
}

export function print(program: A.Program, comments: readonly IToken[] = []): string {
  return new Printer(comments).program(program);
}
