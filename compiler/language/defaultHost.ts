import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  openSync,
  readSync,
  readdirSync,
  realpathSync,
} from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { kindOf } from "../util/files.js";
import { limits, showBytes } from "../../grammar/limits.js";
import { checkSourceSize, UnreadableSource, type SpecHost } from "./host.js";
import { displayPath, stdlibDir } from "./paths.js";
import { preparedParse } from "./preparedTrees.js";

// The CLI's bundle names the folder of the standard library's parses written beside it when it
// was built (scripts/bundle-cli.mjs, preparedTrees.ts); run from elsewhere (tsc's output, the
// tests), there are none and every file is parsed.
declare const __ARCHC_STD_TREES__: string | undefined;
const builtTrees =
  typeof __ARCHC_STD_TREES__ === "undefined"
    ? undefined
    : fileURLToPath(new URL(__ARCHC_STD_TREES__, import.meta.url));

/**
 * Reads a spec safely, by the rule of util/files.ts: only a regular file (a FIFO would block
 * forever, /dev/zero never ends, a folder is no text), and at most `limits.specBytes` of it. Opened without blocking and checked
 * on the open descriptor, so what is checked is what is read.
 */
export function readSource(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw e;
    throw new UnreadableSource(code === "EACCES" ? "permission denied" : String(code ?? e));
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UnreadableSource(`it is ${kindOf(st)}, not a regular file`);
    checkSourceSize(st.size);
    // Read one byte more than allowed: a file that grows while it is read is caught too.
    const buf = Buffer.alloc(limits.specBytes + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n > limits.specBytes) {
        throw new UnreadableSource(
          `it is over ${showBytes(limits.specBytes)}, the most a spec may be`,
        );
      }
    }
    // A UTF-8 byte order mark (editors on Windows write one) is no part of the text.
    return new TextDecoder("utf-8").decode(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

/**
 * The host used where none is given: on Node, the file system. The playground's build
 * (scripts/build-playground.mjs) puts playground/src/defaultHost.ts in this module's place, so
 * nothing of Node's reaches the browser.
 */
export const defaultHost: SpecHost = {
  stdlibDir,
  read: readSource,
  realpath(path) {
    try {
      return realpathSync(path);
    } catch {
      return path;
    }
  },
  exists: existsSync,
  stdlibModules() {
    try {
      return readdirSync(stdlibDir)
        .filter((f) => f.endsWith(".arch"))
        .map((f) => f.slice(0, -".arch".length))
        .sort();
    } catch {
      return [];
    }
  },
  displayPath,
  prepared(absPath, file, text) {
    if (!builtTrees || dirname(absPath) !== stdlibDir) return undefined;
    return preparedParse(builtTrees, file, text);
  },
};
