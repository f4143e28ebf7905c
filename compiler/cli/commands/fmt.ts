import { readFileSync } from "node:fs";
import { parse } from "../../../grammar/parse.js";
import { print } from "../../../grammar/printer.js";
import { formatDiagnostics } from "../../language/diagnostics/print.js";
import { atomicWrite } from "../../util/atomicWrite.js";
import { Exit, type IO } from "../io.js";

/** Formats source text; undefined when it does not parse (a formatter must not guess). */
export function formatSource(file: string, text: string): { text?: string; errors?: string } {
  const parsed = parse(file, text);
  if (parsed.diagnostics.length)
    return { errors: formatDiagnostics(parsed.diagnostics, () => text) };
  return { text: print(parsed.program, parsed.comments) };
}

export function fmtCommand(
  io: IO,
  files: readonly string[],
  opts: { check?: boolean; stdout?: boolean },
): number {
  let code: number = Exit.ok;
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      io.err(`${file}: cannot read the file`);
      code = Exit.diagnostics;
      continue;
    }
    const r = formatSource(file, text);
    if (r.text === undefined) {
      io.err(r.errors ?? `${file}: does not parse`);
      code = Exit.diagnostics;
      continue;
    }
    if (opts.stdout) io.out(r.text);
    else if (opts.check) {
      if (r.text !== text) {
        io.err(`${file}: not formatted (run archc fmt ${file})`);
        code = Exit.diagnostics;
      }
    } else if (r.text !== text) {
      atomicWrite(file, r.text);
      io.out(`formatted ${file}`);
    }
  }
  return code;
}
