import { limits, showBytes } from "../../grammar/limits.js";
import type { ParseResult } from "../../grammar/parse.js";

/**
 * What the language layer needs from the machine it runs on: spec texts and the standard
 * library. On Node that is the file system (defaultHost.ts); in the browser the playground
 * bundles the texts and its build puts its own defaultHost in place of Node's.
 */
export interface SpecHost {
  /** Absolute path of the standard library's folder (`std/NAME` is `NAME.arch` there). */
  readonly stdlibDir: string;
  /**
   * The text of a spec. Throws `UnreadableSource` for a file that exists but cannot be a spec
   * (its message names the problem), anything else for a file that is not there.
   */
  read(absPath: string): string;
  /** The path with every symlink resolved; the path itself while it does not exist. */
  realpath(path: string): string;
  /** Whether a file exists (go-to-definition of an import that is not there goes nowhere). */
  exists(path: string): boolean;
  /** The standard library's module names (`xception`, not `std/xception`), sorted. */
  stdlibModules(): readonly string[];
  /** A path as messages show it (relative to where the user stands, when that is shorter). */
  displayPath(absPath: string): string;
  /**
   * The parse of a file's text computed ahead (the standard library's, at build time), or
   * undefined: the loader parses then. Only ever the parse of exactly this text.
   */
  prepared?(absPath: string, file: string, text: string): ParseResult | undefined;
}

/** Why a spec file was not read; its message names the file's problem, not the file. */
export class UnreadableSource extends Error {}

/**
 * Refuses a spec of more than `limits.specBytes` bytes, wherever its text comes from: a file
 * read from disk, or a document an editor holds open (the language server).
 */
export function checkSourceSize(bytes: number): void {
  if (bytes > limits.specBytes) {
    throw new UnreadableSource(
      `it is ${bytes.toLocaleString("en-US")} bytes; a spec may be at most ${limits.specBytes.toLocaleString("en-US")} (${showBytes(limits.specBytes)})`,
    );
  }
}

/** No such file: what a host throws for a path it does not hold. */
export class MissingSource extends Error {
  constructor(readonly path: string) {
    super(`no such file: ${path}`);
  }
}

/**
 * A host over texts held in memory, keyed by absolute POSIX path: the playground's bundled
 * specs and standard library, and tests. `/` is where the user stands, so paths show without
 * their leading slash (`specs/xception.arch`), as the CLI shows them run from the repository.
 */
export function memoryHost(
  files: ReadonlyMap<string, string>,
  stdlibDir = "/stdlib",
): SpecHost & { files: Map<string, string> } {
  const all = new Map(files);
  return {
    files: all,
    stdlibDir,
    read(absPath) {
      const text = all.get(absPath);
      if (text === undefined) throw new MissingSource(absPath);
      return text;
    },
    realpath: (path) => path,
    exists: (path) => all.has(path),
    stdlibModules: () =>
      [...all.keys()]
        .filter((p) => p.startsWith(stdlibDir + "/") && p.endsWith(".arch"))
        .map((p) => p.slice(stdlibDir.length + 1, -".arch".length))
        .filter((m) => !m.includes("/"))
        .sort(),
    displayPath: (absPath) => (absPath.startsWith("/") ? absPath.slice(1) : absPath),
  };
}
