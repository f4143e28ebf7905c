import { styleText } from "node:util";
import type { Diagnostic } from "../../../grammar/diagnostic.js";
import { visible } from "../../../grammar/visible.js";

export interface SourceLookup {
  (file: string): string | undefined;
}

export interface FormatOptions {
  /** ANSI colour, as rustc prints it; decide it with `colourFor(stream)`. */
  readonly colour?: boolean;
}

type Style = Parameters<typeof styleText>[0];
type Paint = (style: Style, text: string) => string;

/**
 * Whether text written to `stream` may be coloured: never when NO_COLOR is set
 * (https://no-color.org), always when FORCE_COLOR is set to anything but 0 or false, else only
 * on a terminal that is not `dumb`.
 */
export function colourFor(
  stream: { readonly isTTY?: boolean },
  env: Readonly<Record<string, string | undefined>> = process.env,
): boolean {
  if (env["NO_COLOR"]) return false;
  const force = env["FORCE_COLOR"];
  if (force !== undefined) return force !== "0" && force !== "false";
  return stream.isTTY === true && env["TERM"] !== "dumb";
}

/**
 * `file:line:col: error[CODE]: message`, the source line, a caret under the span, then hints
 * and notes — the shape compilers users know; coloured as rustc colours it when asked.
 */
export function formatDiagnostic(
  d: Diagnostic,
  sources: SourceLookup,
  opts: FormatOptions = {},
): string {
  // Whether to colour is decided by the caller (colourFor), not by styleText's own stream check.
  const paint: Paint = (style, text) =>
    opts.colour ? styleText(style, text, { validateStream: false }) : text;
  const level: Style = d.severity === "error" ? "red" : "yellow";
  const { file, start, end } = d.span;
  // Spans of line 0 are not in a file: the command line, for one.
  const where = start.line > 0 ? `${file}:${start.line}:${start.column}` : file;
  const out = [
    `${paint("bold", visible(`${where}:`))} ${paint(level, paint("bold", `${d.severity}[${d.code}]:`))} ${paint("bold", visible(d.message))}`,
  ];
  const text = start.line > 0 ? sources(file) : undefined;
  if (text !== undefined) out.push(...codeFrame(text, start.line, start.column, end, paint, level));
  const eq = paint("blue", paint("bold", "="));
  if (d.hint) out.push(`  ${eq} ${paint("bold", "help:")} ${visible(d.hint)}`);
  for (const note of d.notes ?? []) {
    const where = note.span
      ? `${note.span.file}:${note.span.start.line}:${note.span.start.column}: `
      : "";
    out.push(`  ${eq} ${paint("bold", "note:")} ${visible(`${where}${note.message}`)}`);
  }
  return out.join("\n");
}

function codeFrame(
  text: string,
  line: number,
  column: number,
  end: { line: number; column: number },
  paint: Paint = (_, t) => t,
  level: Style = "red",
): string[] {
  const src = lineAt(text, line);
  if (src === undefined) return [];
  const gutter = String(line);
  const pad = " ".repeat(gutter.length);
  let width =
    end.line === line ? Math.max(1, end.column - column) : Math.max(1, src.length - column + 1);
  // A long line is shown as a window around the column, so a minified spec prints one screen.
  let from = 0;
  let to = src.length;
  if (src.length > frameWidth) {
    from = Math.max(0, column - 1 - frameWidth / 2);
    to = Math.min(src.length, from + frameWidth);
    width = Math.min(width, to - (column - 1));
  }
  const before = (from > 0 ? "..." : "") + visible(src.slice(from, column - 1));
  const shown = before + visible(src.slice(column - 1, to)) + (to < src.length ? "..." : "");
  const caretIndent = before.replace(/[^\t]/g, " ");
  // Escapes widen what they replace: the caret spans the escaped text.
  const under = src.slice(column - 1, column - 1 + width);
  const caret = visible(under).length + (width - under.length);
  const bar = (g: string) => paint("blue", paint("bold", `${g} |`));
  return [
    bar(pad),
    `${bar(gutter)} ${shown}`,
    `${bar(pad)} ${caretIndent}${paint(level, paint("bold", "^".repeat(caret)))}`,
  ];
}

const frameWidth = 120;

/** Line `n` (1-based), found in one pass: splitting a large spec for each message costs. */
function lineAt(text: string, n: number): string | undefined {
  let start = 0;
  for (let line = 1; line < n; line++) {
    let i = start;
    while (i < text.length && text.charCodeAt(i) !== 10 && text.charCodeAt(i) !== 13) i++;
    if (i >= text.length) return undefined;
    start = text.charCodeAt(i) === 13 && text.charCodeAt(i + 1) === 10 ? i + 2 : i + 1;
  }
  let end = start;
  while (end < text.length && text.charCodeAt(end) !== 10 && text.charCodeAt(end) !== 13) end++;
  return text.slice(start, end);
}

export function formatDiagnostics(
  ds: readonly Diagnostic[],
  sources: SourceLookup,
  opts: FormatOptions = {},
): string {
  return ds.map((d) => formatDiagnostic(d, sources, opts)).join("\n\n");
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
