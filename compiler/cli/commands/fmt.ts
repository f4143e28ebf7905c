import {
  chmodSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { parse } from "../../../grammar/parse.js";
import { print } from "../../../grammar/printer.js";
import { formatDiagnostics } from "../../language/diagnostics/print.js";
import { readSource } from "../../language/defaultHost.js";
import { UnreadableSource } from "../../language/host.js";
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
  readStdin: () => string = () => new TextDecoder("utf-8").decode(readFileSync(0)),
): number {
  let code: number = Exit.ok;
  for (const arg of files) {
    const stdin = arg === "-";
    const file = stdin ? "<stdin>" : arg;
    let text: string;
    try {
      text = stdin ? readStdin() : readSource(file);
    } catch (e) {
      const why = e instanceof UnreadableSource ? `: ${e.message}` : "";
      io.err(`${file}: cannot read ${stdin ? "standard input" : "the file"}${why}`);
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
      const problem = rewrite(file, r.text);
      if (problem) {
        io.err(`${file}: not formatted: ${problem}`);
        code = Exit.diagnostics;
      } else io.out(`formatted ${file}`);
    }
  }
  return code;
}

/**
 * Replaces a file's text the way an editor saves: through a symlink to the file it names (the link
 * stays a link), keeping the file's mode, never half-written. A read-only file is left alone: its
 * owner made it so. Returns why it could not, or undefined.
 */
function rewrite(file: string, text: string): string | undefined {
  let target: string;
  try {
    target = realpathSync(file);
  } catch (e) {
    return reason(e, file);
  }
  const via = target === resolve(file) ? "" : ` (the link's target ${target})`;
  const { mode } = statSync(target);
  if ((mode & 0o222) === 0)
    return `it is read-only${via}; make it writable (chmod u+w) to format it, or use --stdout`;
  const dir = dirname(target);
  const tmp = join(dir, `.${basename(target)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, text, { mode: mode & 0o7777, flag: "wx" });
    chmodSync(tmp, mode & 0o7777);
    renameSync(tmp, target);
    return undefined;
  } catch (e) {
    rmSync(tmp, { force: true });
    return `cannot write in ${dir}${via}: ${reason(e, dir)}`;
  }
}

function reason(e: unknown, path: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EROFS") return "the file system is read-only";
  if (code === "ENOENT") return `${path} does not exist`;
  return code ?? String(e);
}
