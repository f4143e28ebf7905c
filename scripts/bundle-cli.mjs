// Bundles the CLI for start-up speed: chevrotain and its lodash-es are hundreds of small ES
// modules whose loading cost more than everything `archc check` does, and commander is CommonJS,
// which from an ES module costs node's CommonJS export scanner and loader on every start. Every
// other package that package.json declares stays external, so optional backends still load from
// node_modules only in the commands that use them.
import { build } from "esbuild";
import { readFileSync, rmSync } from "node:fs";
import { analyseArchGrammar } from "../dist/grammar/parser.js";

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

await build({
  // Worker threads (the language server's, the shard loader's decoders) load their own entry,
  // beside the chunks it shares.
  entryPoints: {
    archc: "compiler/cli/main.ts",
    hostWorker: "compiler/cli/lsp/hostWorker.ts",
    decodeWorker: "compiler/lab/data/decodeWorker.ts",
  },
  outdir: "dist/cli",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external,
  logLevel: "warning",
  // Chunks are named for what they hold, so a stack trace still says where it is.
  chunkNames: "[name]-[hash]",
  // Bundled CommonJS (commander) requires node's built-ins, which an ES module has no `require`
  // for.
  // The parser reads its grammar's analysis instead of computing it on every start
  // (grammar/analysis.ts): computed here, by chevrotain, from tsc's output of the same sources.
  define: { __ARCHC_GRAMMAR_ANALYSIS__: JSON.stringify(analyseArchGrammar()) },
  banner: {
    js: 'import { createRequire as __archcCreateRequire } from "node:module"; const require = __archcCreateRequire(import.meta.url);',
  },
});
