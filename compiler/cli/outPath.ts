import { closeSync, openSync, statSync, unlinkSync } from "node:fs";
import { dirname, extname, join, resolve } from "node:path";
import { isMissing, reason } from "../util/files.js";
import type { IO } from "./io.js";

/**
 * Why `path` cannot take what a command will write there: a file (`-o out.json`, `--plot x.svg`)
 * or a run folder (`sweep -o runs/a`). Undefined when it can. Checked before any work starts, so
 * a typo costs no elaboration or measuring, and reported as a usage error that names the path.
 */
export function outPathProblem(path: string, kind: "file" | "folder"): string | undefined {
  const abs = resolve(path);
  const st = statOrUndefined(abs);
  if (typeof st === "string") return `cannot use ${path}: ${st}`;
  if (st && kind === "file" && st.isDirectory())
    return `${path} is a folder; name a file to write, e.g. ${join(path, "out")}`;
  if (st && kind === "file" && !st.isFile())
    return `${path} is not a regular file (a device, pipe or socket); name a file to write`;
  if (st && kind === "folder" && !st.isDirectory())
    return `${path} is a file; a folder is needed here`;
  // The nearest folder that exists is where the file, or the folders leading to it, are made.
  let dir = st && kind === "folder" ? abs : dirname(abs);
  for (;;) {
    const s = statOrUndefined(dir);
    if (s && typeof s !== "string") {
      if (!s.isDirectory()) return `${dir} is a file, so ${path} cannot be made inside it`;
      break;
    }
    if (dirname(dir) === dir) return `cannot use ${path}: no folder of it exists`;
    dir = dirname(dir);
  }
  // Asking the file system is the only sure test: permissions, read-only mounts and /proc differ.
  const probe = join(dir, `.archc-probe-${process.pid}-${Date.now()}`);
  try {
    closeSync(openSync(probe, "wx"));
    unlinkSync(probe);
  } catch (e) {
    return `cannot write in ${dir} (for ${path}): ${reason(e)}`;
  }
  return undefined;
}

/** Prints the problem with `flag PATH` as a usage error; true when there was one. */
export function outPathRefused(
  io: IO,
  flag: string,
  path: string | undefined,
  kind: "file" | "folder" = "file",
): boolean {
  if (path === undefined) return false;
  const problem = outPathProblem(path, kind);
  if (problem) io.err(`archc: ${flag} ${path}: ${problem}`);
  return problem !== undefined;
}

function statOrUndefined(path: string): ReturnType<typeof statSync> | string | undefined {
  try {
    return statSync(path);
  } catch (e) {
    return isMissing(e) ? undefined : reason(e);
  }
}

/** What `--plot FILE` writes, from its ending; undefined for any other. */
export function plotFormat(path: string): "svg" | "png" | undefined {
  const ext = extname(path).toLowerCase();
  return ext === ".svg" ? "svg" : ext === ".png" ? "png" : undefined;
}

/** outPathRefused for `--plot FILE`, which must also end in .svg or .png. */
export function plotPathRefused(io: IO, flag: string, path: string | undefined): boolean {
  // What is wrong with the path itself (a folder, say) is the more precise complaint.
  if (outPathRefused(io, flag, path)) return true;
  if (path !== undefined && !plotFormat(path)) {
    io.err(`archc: ${flag} ${path}: name a FILE.svg or a FILE.png (the ending chooses the format)`);
    return true;
  }
  return false;
}

/**
 * Refuses (a usage error) an output whose ending names another format than the one the command
 * writes: `compile -o m.onnx` without `-t onnx` would otherwise put the IR's JSON in m.onnx, and
 * `graph -o g.png` an SVG, without a word. `endings` maps endings (lower case, with the dot) to
 * the format they name, formats the command cannot write included; an ending not in it, or none,
 * is taken as the user's choice.
 */
export function endingRefused(
  io: IO,
  flag: string,
  path: string | undefined,
  option: string,
  chosen: string,
  endings: Readonly<Record<string, string>>,
  writable: readonly string[],
): boolean {
  if (path === undefined) return false;
  const named = endings[extname(path).toLowerCase()];
  if (named === undefined || named === chosen) return false;
  const own = Object.keys(endings).filter((e) => endings[e] === chosen);
  const fix = writable.includes(named)
    ? `add ${option} ${named}`
    : `name a file ending in ${own.join(" or ")}`;
  io.err(`archc: ${flag} ${path}: its ending says ${named}, but ${option} is ${chosen}; ${fix}`);
  return true;
}
