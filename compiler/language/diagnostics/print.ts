import type { Diagnostic } from "../../../grammar/diagnostic.js";

export interface SourceLookup {
  (file: string): string | undefined;
}

/**
 * `file:line:col: error[CODE]: message`, the source line, a caret under the span, then hints
 * and notes — the shape compilers users know.
 */
export function formatDiagnostic(d: Diagnostic, sources: SourceLookup): string {
  const { file, start, end } = d.span;
  const out = [`${file}:${start.line}:${start.column}: ${d.severity}[${d.code}]: ${d.message}`];
  const text = sources(file);
  if (text !== undefined) out.push(...codeFrame(text, start.line, start.column, end));
  if (d.hint) out.push(`  = help: ${d.hint}`);
  for (const note of d.notes ?? []) {
    const where = note.span
      ? `${note.span.file}:${note.span.start.line}:${note.span.start.column}: `
      : "";
    out.push(`  = note: ${where}${note.message}`);
  }
  return out.join("\n");
}

function codeFrame(
  text: string,
  line: number,
  column: number,
  end: { line: number; column: number },
): string[] {
  const lines = text.split(/\r?\n|\r/);
  const src = lines[line - 1];
  if (src === undefined) return [];
  const gutter = String(line);
  const pad = " ".repeat(gutter.length);
  const width =
    end.line === line ? Math.max(1, end.column - column) : Math.max(1, src.length - column + 1);
  const caretIndent = src.slice(0, column - 1).replace(/[^\t]/g, " ");
  return [`${pad} |`, `${gutter} | ${src}`, `${pad} | ${caretIndent}${"^".repeat(width)}`];
}

export function formatDiagnostics(ds: readonly Diagnostic[], sources: SourceLookup): string {
  return ds.map((d) => formatDiagnostic(d, sources)).join("\n\n");
}

export function diagnosticToJson(d: Diagnostic): Record<string, unknown> {
  return {
    code: d.code,
    severity: d.severity,
    message: d.message,
    file: d.span.file,
    line: d.span.start.line,
    column: d.span.start.column,
    endLine: d.span.end.line,
    endColumn: d.span.end.column,
    ...(d.hint ? { hint: d.hint } : {}),
    ...(d.notes?.length
      ? {
          notes: d.notes.map((n) => ({
            message: n.message,
            ...(n.span
              ? { file: n.span.file, line: n.span.start.line, column: n.span.start.column }
              : {}),
          })),
        }
      : {}),
  };
}
