import {
  closeSync,
  constants,
  fstatSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from "node:fs";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { tempBeside } from "./tempFiles.js";

/**
 * The one rule for the files archc reads and writes in run, sweep and output folders (SQLite's
 * and PostgreSQL's rule): only regular files, never a FIFO, device, socket or folder where a file
 * is expected; opened so that a special file cannot block (O_NONBLOCK) and checked on the open
 * descriptor, so what is checked is what is read; links followed only while they stay inside the
 * folder they belong to (as imports must stay inside the spec's folder); every file made by
 * writing a temporary beside it and renaming, or created exclusively. A file that breaks the rule
 * is a FileProblem whose message names it and says what to do.
 */
export class FileProblem extends Error {
  constructor(
    readonly path: string,
    /** What is wrong, as the end of a sentence about the file: `is a folder, not a file`. */
    readonly problem: string,
  ) {
    super(`${path} ${problem}`);
    this.name = "FileProblem";
  }
}

/** `a folder`, `a named pipe (FIFO)`...: what a non-regular file is, for messages. */
export function kindOf(st: Stats): string {
  if (st.isFile()) return "a regular file";
  if (st.isDirectory()) return "a folder";
  if (st.isFIFO()) return "a named pipe (FIFO)";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  if (st.isSocket()) return "a socket";
  if (st.isSymbolicLink()) return "a link";
  return "not a regular file";
}

export interface ReadRules {
  /** The folder the file belongs to: a link may lead only to a place inside it. */
  readonly within?: string;
  /** The most bytes the file may have. */
  readonly maxBytes?: number;
}

/**
 * A regular file's bytes. Refused (FileProblem): a FIFO, device, socket or folder; a link that
 * leads outside `within`; a file over `maxBytes`. Errors of the file system other than a missing
 * file become FileProblems too; a missing file is the ENOENT error, for callers that allow it.
 */
export function readRegular(path: string, rules: ReadRules = {}): Buffer {
  return readRegularFile(path, rules).data;
}

/** readRegular with the file's stats, taken from the descriptor its bytes were read from. */
export function readRegularFile(
  path: string,
  rules: ReadRules = {},
): { data: Buffer; stats: Stats } {
  if (rules.within !== undefined) checkInside(path, rules.within);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    if (isMissing(e)) throw e;
    throw new FileProblem(path, `cannot be read: ${reason(e)}`);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw notRegular(path, stats);
    if (rules.maxBytes !== undefined && stats.size > rules.maxBytes)
      throw new FileProblem(
        path,
        `is ${stats.size} bytes, more than the ${rules.maxBytes} such a file may have`,
      );
    try {
      return { data: readFileSync(fd), stats };
    } catch (e) {
      throw new FileProblem(path, `cannot be read: ${reason(e)}`);
    }
  } finally {
    closeSync(fd);
  }
}

/** readRegular, or undefined when there is no such file. */
export function readRegularIfAny(path: string, rules: ReadRules = {}): Buffer | undefined {
  try {
    return readRegular(path, rules);
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

/**
 * Checks that `path`, if something is there, is a regular file (or a link to one inside
 * `within`): what a run folder must hold before archc reads, replaces or removes it.
 */
export function expectFileOrNothing(path: string, within?: string): void {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (e) {
    if (isMissing(e)) return;
    throw new FileProblem(path, `cannot be read: ${reason(e)}`);
  }
  if (st.isSymbolicLink()) {
    if (within !== undefined) checkInside(path, within);
    try {
      st = statSync(path);
    } catch (e) {
      if (isMissing(e)) return; // a dangling link: replacing or removing it is harmless
      throw new FileProblem(path, `cannot be read: ${reason(e)}`);
    }
  }
  if (!st.isFile()) throw notRegular(path, st);
}

/** Removes a file that archc wrote; a folder or special file in its place is refused. */
export function removeFile(path: string, within?: string): void {
  expectFileOrNothing(path, within);
  try {
    rmSync(path, { force: true });
  } catch (e) {
    throw new FileProblem(path, `cannot be removed: ${reason(e)}`);
  }
}

/**
 * Makes a folder and the folders leading to it, one level at a time: Node's recursive mkdir
 * spins forever, deaf to SIGTERM, where the file system refuses without saying why (/proc).
 */
export function makeFolder(path: string): void {
  const abs = resolve(path);
  const missing: string[] = [];
  let dir = abs;
  for (;;) {
    let st: Stats | undefined;
    try {
      st = statSync(dir);
    } catch (e) {
      if (!isMissing(e)) throw new FileProblem(dir, `cannot be used: ${reason(e)}`);
    }
    if (st) {
      if (!st.isDirectory())
        throw new FileProblem(
          dir,
          dir === abs
            ? `is ${kindOf(st)}, not a folder`
            : `is ${kindOf(st)}, so ${path} cannot be made inside it`,
        );
      break;
    }
    missing.push(dir);
    if (dirname(dir) === dir) break;
    dir = dirname(dir);
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST" && statSync(d).isDirectory()) continue;
      throw new FileProblem(path, `cannot be made: ${reason(e)}`);
    }
  }
}

/** Writes a new file that no one else can have opened (O_EXCL: a planted link is not followed). */
function writeNew(path: string, data: string | Uint8Array): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
  } catch (e) {
    throw new FileProblem(path, `cannot be written: ${reason(e)}`);
  }
  try {
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
  } catch (e) {
    throw new FileProblem(path, `cannot be written: ${reason(e)}`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes beside the target, then renames: a reader never sees a half-written file. A folder or
 * special file in the target's place is refused, not replaced.
 */
export function atomicWrite(path: string, data: string | Uint8Array): void {
  makeFolder(dirname(path));
  expectFileOrNothing(path);
  const tmp = tempBeside(path);
  try {
    writeNew(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    if (e instanceof FileProblem) throw e;
    throw new FileProblem(path, `cannot be written: ${reason(e)}`);
  }
}

/**
 * Creates `path` holding `data`, only if nothing is there; false if something is. The file
 * appears whole (written beside it, then hard-linked into place), so no reader ever sees it
 * empty or half-written, which a create-then-write cannot promise.
 */
export function createExclusive(path: string, data: string | Uint8Array): boolean {
  makeFolder(dirname(path));
  const tmp = tempBeside(path);
  writeNew(tmp, data);
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new FileProblem(path, `cannot be created: ${reason(e)}`);
  } finally {
    unlinkSync(tmp);
  }
}

/**
 * Appends to a regular file (made if missing) with one write. Opened without blocking and
 * without following a link, then checked, so a FIFO or device there is refused, not waited on.
 */
export function appendRegular(path: string, text: string): void {
  let fd: number;
  try {
    fd = openSync(
      path,
      constants.O_WRONLY |
        constants.O_APPEND |
        constants.O_CREAT |
        constants.O_NONBLOCK |
        constants.O_NOFOLLOW,
      0o644,
    );
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ELOOP")
      throw new FileProblem(path, "is a link; archc appends only to its own files");
    if (code === "EISDIR")
      throw new FileProblem(path, "is a folder, not a file; remove it or use another folder");
    if (code === "ENXIO")
      throw new FileProblem(
        path,
        "is a named pipe (FIFO), not a regular file; remove it or use another folder",
      );
    throw new FileProblem(path, `cannot be written: ${reason(e)}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw notRegular(path, st);
    writeSync(fd, text);
  } catch (e) {
    if (e instanceof FileProblem) throw e;
    throw new FileProblem(path, `cannot be written: ${reason(e)}`);
  } finally {
    closeSync(fd);
  }
}

function notRegular(path: string, st: Stats): FileProblem {
  return new FileProblem(
    path,
    `is ${kindOf(st)}, not a regular file; remove it, or use another folder`,
  );
}

/** A link must lead to a place inside `within` (both compared with every link resolved). */
function checkInside(path: string, within: string): void {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return; // missing or dangling: the open that follows says so
  }
  let root: string;
  try {
    root = realpathSync(within);
  } catch {
    root = resolve(within);
  }
  const rel = relative(root, real);
  if (rel === ".." || rel.startsWith(".." + sep) || isAbsolute(rel))
    throw new FileProblem(
      path,
      `is a link to ${real}, outside ${within}; archc follows links only inside the folder`,
    );
}

export function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** What the file system said, in words. */
export function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EROFS":
      return "the file system is read-only";
    case "ENOSPC":
      return "the disk is full";
    case "EISDIR":
      return "it is a folder";
    case "ENOENT":
      return "this place does not hold files (a virtual file system such as /proc?)";
    default:
      return code ?? String(e);
  }
}
