import { pathToFileURL } from "node:url";
import { DiagnosticSeverity, type Diagnostic as LspDiagnostic } from "vscode-languageserver/node";
import type { Diagnostic } from "../../../grammar/diagnostic.js";
import { importTarget } from "../../language/load.js";
import { absOf, type Analysis } from "../../services/analysis.js";
import { rangeOf } from "../../services/positions.js";

/**
 * One archc diagnostic for the editor. A problem inside an imported file is shown on the call
 * or the import in this file that leads to it, naming the place, since that file may not be open.
 */
export function toLsp(a: Analysis, d: Diagnostic): LspDiagnostic {
  const root = a.program.loaded.root;
  // Without a root module the document itself could not be read (over the size limit).
  const inRoot = d.span.file === (root?.file ?? a.host.displayPath(a.absPath));
  const message = d.hint ? `${d.message}\nhelp: ${d.hint}` : d.message;
  const related = (d.notes ?? [])
    .filter((n) => n.span)
    .map((n) => ({
      location: { uri: pathToFileURL(absOf(a, n.span!.file)).href, range: rangeOf(n.span!) },
      message: n.message,
    }));
  const base = {
    severity: d.severity === "error" ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    code: d.code,
    source: "archc",
  };
  if (inRoot) {
    return {
      ...base,
      range: rangeOf(d.span),
      message,
      ...(related.length ? { relatedInformation: related } : {}),
    };
  }
  const where = `${d.span.file}:${d.span.start.line}:${d.span.start.column}`;
  // Inside a block of another file: the innermost call in this file, else the import.
  const call = (d.notes ?? []).find((n) => n.span && n.span.file === root?.file)?.span;
  const via = call ? rangeOf(call) : root ? viaImport(a, d.span.file) : undefined;
  const zero = { line: 0, character: 0 };
  return {
    ...base,
    range: via ?? { start: zero, end: zero },
    message: `${where}: ${message}`,
    relatedInformation: [
      {
        location: { uri: pathToFileURL(absOf(a, d.span.file)).href, range: rangeOf(d.span) },
        message: d.message,
      },
      ...related,
    ],
  };
}

/** The root file's import through which a module was reached (modules load depth first). */
function viaImport(a: Analysis, file: string) {
  const root = a.program.loaded.root!;
  const modules = a.program.loaded.modules;
  const index = modules.findIndex((m) => m.file === file);
  if (index < 0) return undefined;
  let best: { at: number; range: ReturnType<typeof rangeOf> } | undefined;
  for (const imp of root.program.imports) {
    const target = importTarget(imp.path.value, root.absPath);
    const at = modules.findIndex((m) => m.absPath === target);
    if (at >= 0 && at <= index && (!best || at > best.at)) best = { at, range: rangeOf(imp.span) };
  }
  return best?.range;
}
