import type { Span } from "./span.js";
import type { Code } from "./codes.js";

export type Severity = "error" | "warning";

export interface Note {
  readonly message: string;
  readonly span?: Span;
}

/** Every problem archc reports is one of these values; nothing is thrown at users. */
export interface Diagnostic {
  readonly code: Code;
  readonly severity: Severity;
  readonly message: string;
  readonly span: Span;
  readonly hint?: string;
  readonly notes?: readonly Note[];
}

export function error(code: Code, span: Span, message: string, hint?: string): Diagnostic {
  return hint === undefined
    ? { code, severity: "error", message, span }
    : { code, severity: "error", message, span, hint };
}

/** Thrown inside elaboration to unwind to the nearest diagnostic boundary; never escapes the compiler. */
export class DiagnosticError extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
  }
}

export function fail(code: Code, span: Span, message: string, hint?: string): never {
  throw new DiagnosticError(error(code, span, message, hint));
}
