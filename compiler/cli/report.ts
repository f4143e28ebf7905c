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
    const first = ds.find((d) => d.severity === "error")?.code;
    io.err(
      `${errors} error${errors === 1 ? "" : "s"}` +
        (first ? `; for more about ${first}, run \`archc explain ${first}\`` : ""),
    );
  }
  return ds.some((d) => d.severity === "error") ? Exit.diagnostics : Exit.ok;
}
