import { isAscii } from "node:buffer";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import vm from "node:vm";
import { atomicWrite } from "../util/files.js";

/**
 * V8's code cache for the CLI's bundle on Node 20, which has no `module.enableCompileCache()`
 * (Node 22.1+; bin/archc.cjs uses it where it exists). Most of a short command's start is
 * compiling the bundle and the functions it runs; V8 can serialise that code after a run and
 * take it back on the next (`vm.Script`'s `cachedData`), checking itself that the data fits its
 * version, its flags and the source's length, and rejecting it otherwise.
 *
 * One cache file per installation, Node version, architecture and command (a `check` keeps
 * the code `check` ran), in the folder NODE_COMPILE_CACHE names (as on Node 22), else the user's
 * cache folder (~/.cache/archc); NODE_DISABLE_COMPILE_CACHE turns it off, as on Node 22. The
 * bundle's first line names its build (a random id the build writes) and the file holds it, so
 * a cache never meets another build's source (a rebuild replaces it), and a checksum of its
 * data, so a damaged one is never handed to V8. Any problem reading or writing it only costs the compiling
 * it would have saved: nothing is printed, and a read-only or missing folder is left alone.
 */

const magic = "archc-v8-cache-1\n";

/** The folder the cache files go in, or undefined where caching is off. */
export function cacheFolder(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env["NODE_DISABLE_COMPILE_CACHE"]) return undefined;
  if (env["NODE_COMPILE_CACHE"]) return join(env["NODE_COMPILE_CACHE"], "archc");
  try {
    return join(env["XDG_CACHE_HOME"] || join(homedir(), ".cache"), "archc");
  } catch {
    return undefined;
  }
}

/**
 * A checksum of the data: V8 checks a cache's header (version, flags, lengths) but not its
 * contents, and would run damaged code. Two running sums over 32-bit words (Fletcher's), the
 * cheapest loop that still sees any changed word: it runs before anything is optimised.
 */
export function checksum(data: Uint8Array): number {
  const words = data.length >>> 2;
  // Int32Array needs a 4-byte aligned offset; a file read whole has one.
  const aligned = data.byteOffset % 4 === 0 ? data : new Uint8Array(data);
  const w = new Int32Array(aligned.buffer, aligned.byteOffset, words);
  let a = 1;
  let b = data.length;
  for (let i = 0; i < words; i++) {
    a = (a + w[i]!) | 0;
    b = (b + a) | 0;
  }
  for (let i = words * 4; i < data.length; i++) {
    a = (a + data[i]!) | 0;
    b = (b + a) | 0;
  }
  return (Math.imul(b, 65599) ^ a) >>> 0;
}

/** A cache file: a header naming the build, the data's length and checksum, then the data. */
export function pack(build: string, data: Uint8Array): Buffer {
  const header = Buffer.from(`${magic}${build} ${data.length} ${checksum(data)}\n`, "latin1");
  return Buffer.concat([header, data]);
}

/** The data of a cache file for this build, or undefined where it is not one, whole. */
export function unpack(build: string, file: Buffer): Buffer | undefined {
  if (file.subarray(0, magic.length).toString("latin1") !== magic) return undefined;
  const end = file.indexOf(10, magic.length);
  if (end < 0 || end > magic.length + 100) return undefined;
  const m = /^(\S+) (\d+) (\d+)$/.exec(file.subarray(magic.length, end).toString("latin1"));
  const data = file.subarray(end + 1);
  if (!m || m[1] !== build || Number(m[2]) !== data.length) return undefined;
  return Number(m[3]) === checksum(data) ? data : undefined;
}

/** A short name for the installation's path, so that two installations keep a cache each. */
function placeTag(path: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 16777619);
  return (h >>> 0).toString(36);
}

/** The build id on the bundle's first line (`// archc-build ID`), or undefined. */
function buildId(source: string): string | undefined {
  return /^\/\/ archc-build ([0-9a-f-]{8,64})\n/.exec(source.slice(0, 100))?.[1];
}

/** Cache files are named by what they hold; anything else in a name becomes `other`. */
function safeWord(word: string | undefined): string {
  return word && /^[a-z][a-z0-9-]{0,23}$/.test(word) ? word : "other";
}

export interface CachedModule {
  readonly exports: Record<string, unknown>;
  /** Whether the code came from the cache (false: compiled, no cache or V8 rejected it). */
  readonly fromCache: boolean;
  /** Writes the cache if it was not used: call after the run, so that what ran is in it. */
  save(): void;
}

/**
 * Runs a CommonJS bundle as Node would (`module`, `exports`, `require`, `__filename`,
 * `__dirname`), compiled from the cache for `command` where there is a good one.
 */
export function runCached(
  file: string,
  command: string | undefined,
  folder: string | undefined = cacheFolder(),
): CachedModule {
  // The build keeps the bundle ASCII, which reads faster as Latin-1; anything else as UTF-8.
  const bytes = readFileSync(file);
  const source = bytes.toString(isAscii(bytes) ? "latin1" : "utf8");
  const id = buildId(source);
  const name = `${placeTag(file)}-${process.version}-${process.arch}-${safeWord(command)}`;
  const cacheFile = folder && id ? join(folder, `${name}.v8cache`) : undefined;
  let cachedData: Buffer | undefined;
  if (cacheFile && id) {
    try {
      cachedData = unpack(id, readFileSync(cacheFile));
    } catch {
      cachedData = undefined;
    }
  }
  const script = new vm.Script(
    `(function (exports, require, module, __filename, __dirname) {${source}\n})`,
    {
      filename: file,
      // No import() callback: code V8 takes from the cache loses it anyway, so the bundle's
      // imports of optional backends go through bin/archc.cjs' own import()
      // (compiler/util/importModule.ts), the same on a first run and a cached one.
      ...(cachedData ? { cachedData } : {}),
    },
  );
  const fromCache = cachedData !== undefined && !script.cachedDataRejected;
  const module = { exports: {} as Record<string, unknown> };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  return {
    exports: module.exports,
    fromCache,
    save() {
      if (fromCache || !cacheFile || !id) return;
      try {
        atomicWrite(cacheFile, pack(id, script.createCachedData()));
      } catch {
        // A cache that cannot be written only costs the next run its compiling.
      }
    },
  };
}
