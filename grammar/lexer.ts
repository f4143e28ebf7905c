import { Lexer, type IToken, type TokenType } from "chevrotain";
import * as T from "./tokens.js";
import type { Span } from "./span.js";
import { error, type Diagnostic } from "./diagnostic.js";

/**
 * Chevrotain's grammar validations cost a third of every command's start; they can only fail
 * when the token definitions change, and test/grammar/validations.test.ts runs them then.
 */
export function createLexer(skipValidations = true): Lexer {
  return new Lexer(T.allTokens, {
    ensureOptimizations: true,
    positionTracking: "full",
    skipValidations,
  });
}

const lexer = createLexer();

export interface LexResult {
  readonly tokens: IToken[];
  readonly comments: IToken[];
  readonly diagnostics: Diagnostic[];
}

// A line break cannot end a statement right after these: the statement obviously goes on.
const continuesAfter = new Set<TokenType>([
  T.Arrow,
  T.Comma,
  T.LBrace,
  T.LParen,
  T.LBracket,
  T.Equals,
  T.Plus,
  T.Minus,
  T.Star,
  T.Slash,
  T.SlashSlash,
  T.Percent,
  T.EqEq,
  T.NotEq,
  T.Less,
  T.LessEq,
  T.Greater,
  T.GreaterEq,
  T.And,
  T.Or,
  T.Not,
  T.Question,
  T.Colon,
  T.Semicolon,
]);
// ...nor right before these: a line that starts with `->` continues the chain above it.
const continuesBefore = new Set<TokenType>([T.Arrow, T.RParen, T.RBracket, T.Else, T.Shortcut]);

export function tokenSpan(file: string, tok: IToken): Span {
  const line = tok.startLine ?? 1;
  const column = tok.startColumn ?? 1;
  const endLine = tok.endLine ?? line;
  const endColumn = (tok.endColumn ?? column) + 1;
  return {
    file,
    start: { offset: tok.startOffset, line, column },
    end: { offset: (tok.endOffset ?? tok.startOffset) + 1, line: endLine, column: endColumn },
  };
}

/**
 * Lexes a file and keeps only the line breaks that end statements, so the grammar can treat a
 * newline like `;` without caring about breaks inside brackets or after an operator.
 */
export function lex(file: string, text: string): LexResult {
  const result = lexer.tokenize(text);
  const diagnostics = result.errors.map((e) => {
    const span: Span = {
      file,
      start: { offset: e.offset, line: e.line ?? 1, column: e.column ?? 1 },
      end: { offset: e.offset + e.length, line: e.line ?? 1, column: (e.column ?? 1) + e.length },
    };
    const ch = text.slice(e.offset, e.offset + e.length);
    return error(
      "E0101",
      span,
      `unexpected character${e.length > 1 ? "s" : ""} '${ch}'`,
      "comments start with '#'; names are letters, digits and '_'",
    );
  });
  const tokens: IToken[] = [];
  let depth = 0;
  const raw = result.tokens;
  for (let i = 0; i < raw.length; i++) {
    const tok = raw[i]!;
    const type = tok.tokenType;
    if (type === T.LParen || type === T.LBracket) depth++;
    if ((type === T.RParen || type === T.RBracket) && depth > 0) depth--;
    if (type !== T.Newline) {
      tokens.push(tok);
      continue;
    }
    if (depth > 0) continue;
    const prev = tokens[tokens.length - 1];
    if (prev === undefined || prev.tokenType === T.Newline || continuesAfter.has(prev.tokenType)) {
      continue;
    }
    let j = i + 1;
    while (j < raw.length && raw[j]!.tokenType === T.Newline) j++;
    const next = raw[j];
    if (next !== undefined && continuesBefore.has(next.tokenType)) continue;
    tokens.push(tok);
  }
  return { tokens, comments: result.groups["comments"] ?? [], diagnostics };
}
