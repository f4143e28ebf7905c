import type { Position as LspPosition, Range } from "vscode-languageserver-types";
import type { Span } from "../../grammar/span.js";

/** archc spans count lines and columns from 1 (UTF-16 units, as the LSP does); the LSP from 0. */
export function rangeOf(span: Span): Range {
  return {
    start: { line: span.start.line - 1, character: span.start.column - 1 },
    end: { line: span.end.line - 1, character: span.end.column - 1 },
  };
}

/** Whether the cursor sits in the span or right at its end (as after typing a word). */
export function contains(span: Span, p: LspPosition): boolean {
  const line = p.line + 1;
  const col = p.character + 1;
  if (line < span.start.line || line > span.end.line) return false;
  if (line === span.start.line && col < span.start.column) return false;
  if (line === span.end.line && col > span.end.column) return false;
  return true;
}

/** The size of a span, for picking the innermost of several that contain the cursor. */
export function extent(span: Span): number {
  return span.end.offset - span.start.offset;
}
