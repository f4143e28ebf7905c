import { readFileSync } from "node:fs";
import { parse } from "../../../grammar/parse.js";
import { print } from "../../../grammar/printer.js";
import { formatDiagnostics } from "../../language/diagnostics/print.js";
import { atomicWrite } from "../../util/atomicWrite.js";
import { Exit, type IO } from "../io.js";

/** Formats source text; undefined when it does not parse (a formatter must not guess). */
export function formatSource(
  file: string,
  text: string,
  colour = false,
): { text?: string; errors?: string } {
  const parsed = parse(file, text);
  if (parsed.diagnostics.length)
    return { errors: formatDiagnostics(parsed.diagnostics, () => text, { colour }) };
  return { text: print(parsed.program, parsed.comments) };
}

/**
 * `archc fmt FILES`: rewrites each file in place (or checks, or prints it). `-` stands for
 * standard input, whose formatted text goes to standard output, as editors and prettier expect.
 */
export function fmtCommand(
  io: IO,
  files: readonly string[],
  opts: { check?: boolean; stdout?: boolean },
  readStdin: () => string = () => readFileSync(0, "utf8"),
): number {
  let code: number = Exit.ok;
  for (const arg of files) {
    const stdin = arg === "-";
    const file = stdin ? "<stdin>" : arg;
    let text: string;
    try {
      text = stdin ? readStdin() : readFileSync(file, "utf8");
    } catch {
      io.err(`${file}: cannot read ${stdin ? "standard input" : "the file"}`);
      code = Exit.diagnostics;
      continue;
    }
    const r = formatSource(file, text, io.colour);
    if (r.text === undefined) {
      io.err(r.errors ?? `${file}: does not parse`);
      code = Exit.diagnostics;
      continue;
    }
    if (opts.check) {
      if (r.text !== text) {
        io.err(`${file}: not formatted (run archc fmt ${stdin ? "-" : file})`);
        code = Exit.diagnostics;
      }
    } else if (opts.stdout || stdin) io.out(r.text);
    else if (r.text !== text) {
      atomicWrite(file, r.text);
      io.out(`formatted ${file}`);
    }
  }
  return code;
}
