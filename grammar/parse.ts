import type { IRecognitionException } from "chevrotain";
import type { Expr, Program } from "./ast.js";
import { buildExpression, buildProgram } from "./build.js";
import { lex, tokenSpan } from "./lexer.js";
import { parser } from "./parser.js";
import type { IToken } from "chevrotain";
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
  parser.input = lexed.tokens;
  const cst = parser.program();
  const diagnostics = [
    ...lexed.diagnostics,
    ...parser.errors.map((e) => syntaxError(file, e, lexed.tokens)),
  ];
  return { program: buildProgram(file, text, cst), comments: lexed.comments, diagnostics };
}

function syntaxError(file: string, e: IRecognitionException, tokens: IToken[]): Diagnostic {
  let tok = e.token;
  // Tokens that recovery invented, or end of file, have no position: anchor at the one before.
  if (Number.isNaN(tok.startOffset) || tok.tokenType.name === "EOF") {
    const prev = (e as { previousToken?: IToken }).previousToken ?? tokens[tokens.length - 1];
    tok = prev && !Number.isNaN(prev.startOffset) ? prev : tok;
  }
  const span: Span = Number.isNaN(tok.startOffset)
    ? { file, start: { offset: 0, line: 1, column: 1 }, end: { offset: 0, line: 1, column: 1 } }
    : tokenSpan(file, tok);
  return error("E0102", span, e.message);
}

/** Parses a lone expression, as given on the command line with `--set`. */
export function parseExpression(
  file: string,
  text: string,
): { expr: Expr; diagnostics: readonly Diagnostic[] } {
  const lexed = lex(file, text);
  parser.input = lexed.tokens;
  const cst = parser.expression();
  const diagnostics = [
    ...lexed.diagnostics,
    ...parser.errors.map((e) => syntaxError(file, e, lexed.tokens)),
  ];
  return { expr: buildExpression(file, text, cst), diagnostics };
}
