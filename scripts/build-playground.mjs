// `npm run build:playground`: bundles playground/ into playground/build/, a folder of static
// files any static host serves. Two entry points: the page (main.js) and its checking worker
// (worker.js), where the language layer, the services and the browser-safe backends run; they
// share chunks. tfjs, Graphviz and the TypeScript emitter are chunks loaded when first asked for. Skips the work when
// the build is newer than every input (`--force` always builds); the browser tests call this.
import { build } from "esbuild";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = join(root, "playground", "build");
const stamp = join(out, ".build-stamp");
const inputs = [
  "playground/src",
  "playground/index.html",
  "playground/style.css",
  "grammar",
  "compiler",
  "specs",
  "stdlib",
  "package-lock.json",
  "scripts/build-playground.mjs",
];

function newest(path) {
  const s = statSync(path, { throwIfNoEntry: false });
  if (!s) return 0;
  if (!s.isDirectory()) return s.mtimeMs;
  return readdirSync(path).reduce((m, name) => Math.max(m, newest(join(path, name))), s.mtimeMs);
}

/** Whether playground/build/ is missing or older than what it is built from. */
export function playgroundStale() {
  return (
    !existsSync(stamp) ||
    statSync(stamp).mtimeMs < Math.max(...inputs.map((i) => newest(join(root, i))))
  );
}

/** The specs and the standard library, as one module of texts keyed by their path in the page. */
function bundledFiles() {
  const files = {};
  for (const dir of ["specs", "stdlib"]) {
    for (const f of readdirSync(join(root, dir)).sort()) {
      if (f.endsWith(".arch")) files[`/${dir}/${f}`] = readFileSync(join(root, dir, f), "utf8");
    }
  }
  return `export default ${JSON.stringify(files)};`;
}

/**
 * What of Node the bundled modules name, and what the browser gets instead: path is
 * path-browserify; the language layer's file access is swapped for the bundled texts
 * (playground/src/defaultHost.ts); the tfjs backend's strategy cache and thread count, which
 * only the lazily loaded forward-pass chunk reaches, get nodeShims.ts (no disk cache: the cost
 * model falls back to its prior). The TypeScript emitter's prettier is its standalone build
 * (playground/src/prettierBrowser.ts).
 */
const browserPlugin = {
  name: "archc-browser",
  setup(b) {
    b.onResolve({ filter: /^archc:files$/ }, () => ({ path: "files", namespace: "archc" }));
    b.onLoad({ filter: /.*/, namespace: "archc" }, () => ({
      contents: bundledFiles(),
      loader: "js",
    }));
    const nodeHost = join(root, "compiler", "language", "defaultHost.js");
    b.onResolve({ filter: /\/defaultHost\.js$/ }, (args) =>
      resolve(args.resolveDir, args.path) === nodeHost
        ? { path: join(root, "playground", "src", "defaultHost.ts") }
        : undefined,
    );
    b.onResolve({ filter: /^node:path$/ }, () => ({
      path: join(root, "node_modules", "path-browserify", "index.js"),
    }));
    b.onResolve({ filter: /^node:(fs|os|module|worker_threads|url|util)$/ }, () => ({
      path: join(root, "playground", "src", "nodeShims.ts"),
    }));
    b.onResolve({ filter: /^prettier$/ }, () => ({
      path: join(root, "playground", "src", "prettierBrowser.ts"),
    }));
  },
};

export async function buildPlayground() {
  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const result = await build({
    entryPoints: {
      main: join(root, "playground", "src", "main.ts"),
      worker: join(root, "playground", "src", "worker.ts"),
    },
    outdir: join(tmp, "assets"),
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: false,
    metafile: true,
    logLevel: "warning",
    chunkNames: "[name]-[hash]",
    plugins: [browserPlugin],
    inject: [join(root, "playground", "src", "process.ts")],
    define: { "import.meta.dirname": '"/"' },
  });
  copyFileSync(join(root, "playground", "index.html"), join(tmp, "index.html"));
  copyFileSync(join(root, "playground", "style.css"), join(tmp, "style.css"));
  // tfjs' wasm backend fetches its binaries beside the page (setWasmPaths("wasm/")).
  const wasmDir = join(root, "node_modules", "@tensorflow", "tfjs-backend-wasm", "dist");
  mkdirSync(join(tmp, "wasm"));
  for (const f of readdirSync(wasmDir)) {
    if (f.endsWith(".wasm")) copyFileSync(join(wasmDir, f), join(tmp, "wasm", f));
  }
  writeFileSync(join(tmp, "meta.json"), JSON.stringify(result.metafile));
  writeFileSync(join(tmp, ".build-stamp"), new Date().toISOString() + "\n");
  // The finished folder replaces the old one whole: a server never sees half a build.
  rmSync(out, { recursive: true, force: true });
  mkdirSync(dirname(out), { recursive: true });
  try {
    renameSync(tmp, out);
  } catch (e) {
    // Another build (a second test file) finished first: its folder is as new as this one.
    rmSync(tmp, { recursive: true, force: true });
    if (playgroundStale()) throw e;
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!process.argv.includes("--force") && !playgroundStale()) {
    console.log("archc: playground/build/ is up to date (--force rebuilds)");
  } else {
    await buildPlayground();
    console.log(`archc: built ${relative(process.cwd(), out) || out}`);
  }
}
