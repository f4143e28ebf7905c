import { Lexer, tokenMatcher, type IToken, type TokenType } from "chevrotain";
import * as T from "./tokens.js";
import type { Span } from "./span.js";
import { error, type Diagnostic } from "./diagnostic.js";
import { limits } from "./limits.js";
import { visible } from "./visible.js";

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
    const ch = visible(text.slice(e.offset, e.offset + Math.min(e.length, 40)));
    return error(
      "E0101",
      span,
      `unexpected character${e.length > 1 ? "s" : ""} '${ch}${e.length > 40 ? "..." : ""}'`,
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
  const tooDeep = nestingProblem(file, tokens);
  if (tooDeep) diagnostics.push(tooDeep);
  return { tokens, comments: result.groups["comments"] ?? [], diagnostics };
}

/** Tokens no expression goes on past: after one, operators count from zero. */
const endsExpression = new Set<TokenType>([
  T.Newline,
  T.Semicolon,
  T.Comma,
  T.Arrow,
  T.Equals,
  T.Question,
  T.Colon,
  T.LBrace,
  T.RBrace,
]);

/** Tokens whose grammar rules call themselves: each one open costs the parser stack. */
const opens = new Set<TokenType>([T.LParen, T.LBracket, T.LBrace]);
const closes = new Set<TokenType>([T.RParen, T.RBracket, T.RBrace]);

/**
 * The first place where the file nests deeper than `limits.nesting`, or where an operand has more
 * prefix operators than `limits.prefixes`. The parser, the tree builder, the evaluator and the
 * printer all recurse once per level, so this is checked on the flat token list, before any of
 * them runs. Besides brackets, `else if` and `? :` nest without brackets; they count until the
 * statement (or the bracket holding them) ends.
 */
function nestingProblem(file: string, tokens: readonly IToken[]): Diagnostic | undefined {
  // One entry per open bracket: how many `else`/`?` levels are open inside it.
  const extra: number[] = [0];
  // Infix operators in the expression now being read, per open bracket.
  const operators: number[] = [0];
  let depth = 0;
  let prefixRun = 0;
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    const type = tok.tokenType;
    if (opens.has(type)) {
      depth++;
      extra.push(0);
      operators.push(0);
    } else if (closes.has(type)) {
      if (extra.length > 1) {
        depth -= 1 + extra.pop()!;
        operators.pop();
      }
    } else if (type === T.Newline || type === T.Semicolon) {
      depth -= extra[extra.length - 1]!;
      extra[extra.length - 1] = 0;
    }
    if (endsExpression.has(type)) operators[operators.length - 1] = 0;
    else if (tokenMatcher(tok, T.BinaryOperator)) {
      const n = ++operators[operators.length - 1]!;
      if (n > limits.operators) {
        return error(
          "E0106",
          tokenSpan(file, tok),
          `an expression with more than ${limits.operators} operators`,
          "split it with let, e.g. let a = ...",
        );
      }
    }
    if (type === T.Question || (type === T.Else && tokens[i + 1]?.tokenType === T.If)) {
      depth++;
      extra[extra.length - 1]!++;
    }
    if (depth > limits.nesting) {
      return error(
        "E0104",
        tokenSpan(file, tok),
        `this nests more than ${limits.nesting} levels deep (brackets, bodies, else-if and ?: chains)`,
        "name the inner parts with let, or split them into blocks",
      );
    }
    prefixRun = type === T.Minus || type === T.Not ? prefixRun + 1 : 0;
    if (prefixRun > limits.prefixes) {
      return error(
        "E0104",
        tokenSpan(file, tok),
        `more than ${limits.prefixes} '-' or 'not' in a row`,
        "two of them cancel out; write the value itself",
      );
    }
  }
  return undefined;
}
