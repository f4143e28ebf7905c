#!/usr/bin/env node
// The installed command runs the bundled CLI; `npm ci` builds it (the prepare script).
import * as nodeModule from "node:module";

// Most of a short command's start is compiling the bundle and running its code for the first
// time. Node 22.1+ can keep V8's compiled code between runs (in the OS temp folder, unless
// NODE_DISABLE_COMPILE_CACHE is set); Node 20 has no such API. The bundle is imported after it,
// so that the cache covers it.
nodeModule.enableCompileCache?.();
const { main } = await import("../dist/cli/archc.js");

const code = await main(process.argv.slice(2));
// Exit explicitly once the output is flushed: the wasm backend's worker threads and other
// handles of the optional backends would otherwise keep a finished command alive.
process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
