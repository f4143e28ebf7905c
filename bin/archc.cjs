#!/usr/bin/env node
// The installed command runs the bundled CLI, dist/cli/archc.cjs (`npm ci` builds it: the
// prepare script).
"use strict";
const { join } = require("node:path");
const nodeModule = require("node:module");

const args = process.argv.slice(2);

// `archc --version` needs nothing of the bundle, whose reading and compiling would be most of
// its time (issue 26.5); compiler/cli/main.ts answers it the same for `main(["--version"])`.
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  process.stdout.write(`${require("../package.json").version}\n`);
} else {
  run();
}

function run() {
  // Most of a short command's start is compiling the bundle and the functions it runs. Node 22.1+
  // keeps V8's compiled code between runs itself; on Node 20 compiler/cli/codeCache.ts does it by
  // hand. NODE_DISABLE_COMPILE_CACHE turns either off.
  const bundle = join(__dirname, "../dist/cli/archc.cjs");
  let main;
  let save = () => {};
  if (nodeModule.enableCompileCache) {
    nodeModule.enableCompileCache();
    main = require(bundle).main;
  } else {
    // Code V8 takes from the cache has lost what import() needs; this module's own import() has
    // it, and the bundle's imports of optional backends come here (compiler/util/importModule.ts).
    globalThis.__archcImport = (specifier) => import(specifier);
    const { runCached } = require("../dist/cli/codeCache.cjs");
    const loaded = runCached(bundle, process.argv[2]);
    main = loaded.exports.main;
    save = loaded.save;
  }

  main(args).then((code) => {
    save();
    // Exit explicitly once the output is flushed: the wasm backend's worker threads and other
    // handles of the optional backends would otherwise keep a finished command alive.
    process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
  });
}
