import { DiagnosticError, type Diagnostic } from "../../../../grammar/diagnostic.js";
import type { Span } from "../../../../grammar/span.js";

/** A place in a spec: what a located SpecError points at. */
export interface SpecPlace {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/**
 * A check the compiler would have reported for these arguments: the same code and text, and
 * where generated code knows it (every call it writes passes its site), the same place in the
 * `.arch` source, `file:line:column` first as the CLI writes it.
 */
export class SpecError extends Error {
  readonly at?: SpecPlace;
  readonly notes: readonly { readonly message: string; readonly at?: SpecPlace }[];

  constructor(
    readonly code: string,
    readonly diagnostic: string,
    readonly hint?: string,
    where: { span?: Span; notes?: Diagnostic["notes"] } = {},
  ) {
    const at = place(where.span);
    const notes = (where.notes ?? []).map((n) => ({
      message: n.message,
      ...(place(n.span) ? { at: place(n.span)! } : {}),
    }));
    super(
      [
        `${at ? `${shown(at)}: ` : ""}error[${code}]: ${diagnostic}`,
        ...(hint ? [`  = help: ${hint}`] : []),
        ...notes.map((n) => `  = note: ${n.at ? `${shown(n.at)}: ` : ""}${n.message}`),
      ].join("\n"),
    );
    this.name = "SpecError";
    if (at) this.at = at;
    this.notes = notes;
  }
}

function place(span: Span | undefined): SpecPlace | undefined {
  if (!span || span.file === generated.file) return undefined;
  return { file: span.file, line: span.start.line, column: span.start.column };
}

function shown(p: SpecPlace): string {
  return `${p.file}:${p.line}:${p.column}`;
}

/** Generated code has no spec text to point into; its diagnostics carry this place only. */
export const generated: Span = {
  file: "<generated>",
  start: { offset: 0, line: 1, column: 1 },
  end: { offset: 0, line: 1, column: 1 },
};

/** A diagnostic of the compiler's, as a SpecError at its place. */
export function specError(d: Diagnostic): SpecError {
  return new SpecError(d.code, d.message, d.hint, {
    span: d.span,
    ...(d.notes ? { notes: d.notes } : {}),
  });
}

/** `f()`, with a diagnostic the compiler's steps fail with thrown as a SpecError. */
export function diagnosed<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof DiagnosticError)) throw e;
    throw specError(e.diagnostic);
  }
}
