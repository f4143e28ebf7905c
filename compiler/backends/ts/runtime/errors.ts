import { DiagnosticError } from "../../../../grammar/diagnostic.js";
import type { Span } from "../../../../grammar/span.js";

/** A check the compiler would have reported for these arguments; the same code and text. */
export class SpecError extends Error {
  constructor(
    readonly code: string,
    readonly diagnostic: string,
    readonly hint?: string,
  ) {
    super(
      hint ? `error[${code}]: ${diagnostic}\n  = help: ${hint}` : `error[${code}]: ${diagnostic}`,
    );
    this.name = "SpecError";
  }
}

/** Generated code has no spec text to point into; its diagnostics carry this place only. */
export const generated: Span = {
  file: "<generated>",
  start: { offset: 0, line: 1, column: 1 },
  end: { offset: 0, line: 1, column: 1 },
};

/** `f()`, with a diagnostic the compiler's steps fail with thrown as a SpecError. */
export function diagnosed<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof DiagnosticError)) throw e;
    const d = e.diagnostic;
    throw new SpecError(d.code, d.message, d.hint);
  }
}
