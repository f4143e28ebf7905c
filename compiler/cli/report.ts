import type { Diagnostic } from "../../grammar/diagnostic.js";
import { diagnosticToJson, formatDiagnostics } from "../language/diagnostics/print.js";
import type { Program } from "../language/program.js";
import type { IO } from "./io.js";
import { Exit } from "./io.js";

/** Prints diagnostics (human or JSON) and returns the exit code they mean. */
export function report(
  io: IO,
  program: Program | undefined,
  ds: readonly Diagnostic[],
  json = false,
): number {
  if (ds.length === 0) return Exit.ok;
  if (json) io.out(JSON.stringify({ diagnostics: ds.map(diagnosticToJson) }, null, 2));
  else {
    io.err(formatDiagnostics(ds, (f) => program?.loaded.source(f), { colour: io.colour }));
    const errors = ds.filter((d) => d.severity === "error").length;
    io.err(`${errors} error${errors === 1 ? "" : "s"}${explainHint(ds)}`);
  }
  return ds.some((d) => d.severity === "error") ? Exit.diagnostics : Exit.ok;
}

/** The pointer to `archc explain` after an error count, as rustc ends with `--explain`. */
export function explainHint(ds: readonly Diagnostic[]): string {
  const first = ds.find((d) => d.severity === "error")?.code;
  return first ? `; for more about ${first}, run \`archc explain ${first}\`` : "";
}
