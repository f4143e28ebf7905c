import type { IRecognitionException } from "chevrotain";
import type { Expr, Program } from "./ast.js";
import { buildExpression, buildProgram } from "./build.js";
import { lex, tokenSpan } from "./lexer.js";
import { parser } from "./parser.js";
import type { IToken } from "chevrotain";
import * as T from "./tokens.js";
import { error, type Diagnostic } from "./diagnostic.js";
import type { Span } from "./span.js";

export interface ParseResult {
  readonly program: Program;
  readonly comments: readonly IToken[];
  readonly diagnostics: readonly Diagnostic[];
}

/** Parses one file, reporting every syntax error the parser's recovery finds. */
export function parse(file: string, text: string): ParseResult {
  const lexed = lex(file, text);
  if (lexed.diagnostics.some(stopsParsing))
    return {
      program: emptyProgram(file),
      comments: lexed.comments,
      diagnostics: lexed.diagnostics,
    };
  try {
    parser.input = lexed.tokens;
    const cst = parser.program();
    const diagnostics = [
      ...lexed.diagnostics,
      ...parser.errors.map((e) => syntaxError(file, e, lexed.tokens)),
    ];
    const program = buildProgram(file, text, cst, diagnostics);
    return { program, comments: lexed.comments, diagnostics };
  } catch (e) {
    // The nesting check before parsing bounds every recursion; this is the last line of defence.
    if (!(e instanceof RangeError && /call stack/i.test(e.message))) throw e;
    const first = lexed.tokens[0];
    const span = first ? tokenSpan(file, first) : startOf(file);
    return {
      program: emptyProgram(file),
      comments: lexed.comments,
      diagnostics: [error("E0104", span, "this file nests too deeply to be parsed")],
    };
  }
}

function startOf(file: string): Span {
  const p = { offset: 0, line: 1, column: 1 };
  return { file, start: p, end: p };
}

function emptyProgram(file: string): Program {
  return { kind: "Program", imports: [], decls: [], span: startOf(file) };
}

function syntaxError(file: string, e: IRecognitionException, tokens: IToken[]): Diagnostic {
  let tok = e.token;
  const atEnd = tok.tokenType.name === "EOF" || Number.isNaN(tok.startOffset);
  // Tokens that recovery invented, or end of file, have no position: anchor at the one before.
  if (atEnd) {
    const prev = (e as { previousToken?: IToken }).previousToken ?? tokens[tokens.length - 1];
    tok = prev && !Number.isNaN(prev.startOffset) ? prev : tok;
  }
  const span: Span = Number.isNaN(tok.startOffset) ? startOf(file) : tokenSpan(file, tok);
  const d = error("E0102", span, e.message);
  if (!atEnd || !/^expected '\}'/.test(e.message)) return d;
  const opener = unclosedBrace(tokens);
  if (!opener) return d;
  return {
    ...d,
    notes: [{ message: "this '{' is never closed", span: tokenSpan(file, opener) }],
  };
}

/**
 * The `{` a file forgot to close. Braces pair up innermost-first, so a missing `}` shows as the
 * outermost one being unclosed; the indentation says better which it was: the first pair whose
 * `}` starts a line at another indentation than its `{`'s line took the wrong partner.
 */
function unclosedBrace(tokens: readonly IToken[]): IToken | undefined {
  const stack: IToken[] = [];
  const firstOnLine = new Map<number, IToken>();
  for (const t of tokens) {
    const line = t.startLine ?? 0;
    if (!firstOnLine.has(line) && t.tokenType !== T.Newline) firstOnLine.set(line, t);
  }
  const indent = (t: IToken) => firstOnLine.get(t.startLine ?? 0)?.startColumn ?? 0;
  let suspect: IToken | undefined;
  for (const t of tokens) {
    if (t.tokenType === T.LBrace) stack.push(t);
    else if (t.tokenType === T.RBrace) {
      const open = stack.pop();
      if (open && !suspect && firstOnLine.get(t.startLine ?? 0) === t && indent(open) !== indent(t))
        suspect = open;
    }
  }
  if (stack.length === 0) return undefined;
  return suspect ?? stack[stack.length - 1];
}

/** Parses a lone expression, as given on the command line with `--set`. */
export function parseExpression(
  file: string,
  text: string,
): { expr: Expr; diagnostics: readonly Diagnostic[] } {
  const lexed = lex(file, text);
  const missing: Expr = { kind: "Name", name: "<missing>", span: startOf(file) };
  if (lexed.diagnostics.some(stopsParsing))
    return { expr: missing, diagnostics: lexed.diagnostics };
  parser.input = lexed.tokens;
  const cst = parser.expression();
  const diagnostics = [
    ...lexed.diagnostics,
    ...parser.errors.map((e) => syntaxError(file, e, lexed.tokens)),
  ];
  return { expr: buildExpression(file, text, cst, diagnostics), diagnostics };
}

/** What the lexer found that the recursive parser must not see. */
function stopsParsing(d: Diagnostic): boolean {
  return d.code === "E0104" || d.code === "E0106";
}
