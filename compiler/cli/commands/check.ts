import type { Diagnostic } from "../../../grammar/diagnostic.js";
import { diagnosticToJson, formatDiagnostics } from "../../language/diagnostics/print.js";
import { checkProgram, declaresNothing, loadProgram } from "../../language/program.js";
import { Exit, type IO } from "../io.js";
import { maxLayersOf } from "../build.js";
import { explainHint } from "../report.js";

export function checkCommand(
  io: IO,
  files: readonly string[],
  opts: { json?: boolean; maxLayers?: string },
): number {
  const maxLayers = maxLayersOf(opts.maxLayers);
  if (typeof maxLayers === "object") {
    io.err(`archc check: ${maxLayers.error}`);
    return Exit.usage;
  }
  const all: { file: string; diagnostics: Diagnostic[] }[] = [];
  let failed = false;
  for (const file of files) {
    const program = loadProgram(file);
    const ds = checkProgram(program, maxLayers ? { maxLayers } : {});
    const nothing = ds.length ? undefined : declaresNothing(program);
    if (nothing) ds.push(nothing);
    all.push({ file, diagnostics: ds });
    if (ds.length) {
      failed = true;
      if (!opts.json)
        io.err(
          formatDiagnostics(ds, (f) => program.loaded.source(f), { colour: io.colour }) + "\n",
        );
    } else if (!opts.json) {
      const t = program.table;
      const own = (d: { span: { file: string } }) => d.span.file === program.loaded.root?.file;
      const count = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
      io.out(
        `${file}: ok (${[
          count([...t.networks.values()].filter(own).length, "network"),
          count([...t.blocks.values()].filter(own).length, "block"),
          count([...t.trains.values()].filter(own).length, "train config"),
          count([...t.experiments.values()].filter(own).length, "experiment"),
          count(t.expects.filter(own).length, "expectation"),
        ].join(", ")})`,
      );
    }
  }
  if (opts.json) {
    io.out(
      JSON.stringify(
        {
          files: all.map((f) => ({
            file: f.file,
            ok: f.diagnostics.length === 0,
            diagnostics: f.diagnostics.map(diagnosticToJson),
          })),
        },
        null,
        2,
      ),
    );
  } else if (failed) {
    const n = all.reduce((s, f) => s + f.diagnostics.length, 0);
    io.err(
      `${n} error${n === 1 ? "" : "s"} in ${all.filter((f) => f.diagnostics.length).length} of ${files.length} file${files.length === 1 ? "" : "s"}` +
        explainHint(all.flatMap((f) => f.diagnostics)),
    );
  }
  return failed ? Exit.diagnostics : Exit.ok;
}
