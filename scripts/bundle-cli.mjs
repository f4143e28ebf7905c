// Bundles the CLI for start-up speed: chevrotain and its lodash-es are hundreds of small ES
// modules whose loading cost more than everything `archc check` does. Every other package that
// package.json declares stays external, so optional backends still load from node_modules only
// in the commands that use them.
//
// The CLI itself is one CommonJS file, dist/cli/archc.cjs: CommonJS needs no ES module loader at
// start, and a script is what V8's code cache takes on Node 20 (compiler/cli/codeCache.ts, which
// is bundled beside it as codeCache.cjs). Its first line names the build with a random id, which
// keys the cache. The worker threads' entries (the language server's, the shard loader's
// decoders) stay ES modules beside it, sharing their chunks.
import { build } from "esbuild";
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { analyseArchGrammar } from "../dist/grammar/parser.js";
import { writePreparedTrees } from "../dist/compiler/language/preparedTrees.js";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const bundled = new Set(["chevrotain", "commander"]);
const external = Object.keys({
  ...pkg.dependencies,
  ...pkg.peerDependencies,
  ...pkg.optionalDependencies,
})
  .filter((name) => !bundled.has(name))
  .flatMap((name) => [name, `${name}/*`]);

// Chunks carry a hash in their names: without a clean folder every rebuild would leave the old
// ones beside the new, and npm pack would ship them all.
rmSync(new URL("../dist/cli", import.meta.url), { recursive: true, force: true });

/**
 * commander requires node:child_process at load, for subcommands that are separate executables,
 * which archc has none of; loading it (and net, dgram and the rest it pulls in) was about 3 ms
 * of every command's start. Its one use, spawn, loads it when called.
 */
const lazyChildProcess = {
  name: "lazy-child-process",
  setup(b) {
    b.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, (args) => {
      const eager = "const childProcess = require('node:child_process');";
      const text = readFileSync(args.path, "utf8");
      if (!text.includes(eager))
        throw new Error(`${args.path} no longer has the line the bundle makes lazy: ${eager}`);
      const lazy =
        "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };";
      return { contents: text.replace(eager, lazy), loader: "js" };
    });
  },
};

const common = {
  outdir: "dist/cli",
  bundle: true,
  platform: "node",
  target: "node20",
  external,
  logLevel: "warning",
  plugins: [lazyChildProcess],
  // The parser reads its grammar's analysis instead of computing it on every start
  // (grammar/analysis.ts): computed here, by chevrotain, from tsc's output of the same sources.
  define: {
    __ARCHC_GRAMMAR_ANALYSIS__: JSON.stringify(analyseArchGrammar()),
    // The standard library's parses, one file each beside the bundle (written below), which
    // compiler/language/defaultHost.ts reads instead of parsing those modules again.
    __ARCHC_STD_TREES__: JSON.stringify("./std-trees/"),
  },
};

await build({
  ...common,
  entryPoints: { archc: "compiler/cli/main.ts", codeCache: "compiler/cli/codeCache.ts" },
  outExtension: { ".js": ".cjs" },
  format: "cjs",
  // Without whitespace and comments the bundle is a third smaller to read at every start, and
  // ASCII (checked below), which Node reads faster; names are kept for stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  define: { ...common.define, "import.meta.url": "__archcModuleUrl" },
  banner: {
    // "use strict" first: the statement after it would end the directive prologue, and an ES
    // module's code (the sources) is strict.
    js: `// archc-build ${randomUUID()}\n"use strict";\nconst __archcModuleUrl = require("node:url").pathToFileURL(__filename).href;`,
  },
});

for (const file of ["dist/cli/archc.cjs", "dist/cli/codeCache.cjs"]) {
  const text = readFileSync(new URL(`../${file}`, import.meta.url), "latin1");
  const at = text.search(/[^\x00-\x7f]/);
  if (at >= 0)
    throw new Error(`${file} is not ASCII at offset ${at}: ${text.slice(at - 40, at + 40)}`);
}

const trees = new URL("../dist/cli/std-trees/", import.meta.url);
mkdirSync(trees, { recursive: true });
writePreparedTrees(fileURLToPath(new URL("../stdlib/", import.meta.url)), fileURLToPath(trees));

await build({
  ...common,
  entryPoints: {
    hostWorker: "compiler/cli/lsp/hostWorker.ts",
    decodeWorker: "compiler/lab/data/decodeWorker.ts",
  },
  splitting: true,
  format: "esm",
  // Chunks are named for what they hold, so a stack trace still says where it is.
  chunkNames: "[name]-[hash]",
  // Bundled CommonJS requires node's built-ins, which an ES module has no `require` for.
  banner: {
    js: 'import { createRequire as __archcCreateRequire } from "node:module"; const require = __archcCreateRequire(import.meta.url);',
  },
});
