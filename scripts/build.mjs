// `npm run build`: tsc to dist/, then the bundled CLI (scripts/bundle-cli.mjs). Skips the work
// when dist/ is newer than every input: `npx archc` in this repository installs the package
// into npm's exec cache and runs its prepare script each time it does, which made the first
// `npx archc` after `npm ci` wait for a second, identical build. `--force` always builds.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const stamp = join(root, "dist", ".build-stamp");
const inputs = [
  "grammar",
  "compiler",
  "bench",
  "scripts",
  "package.json",
  "tsconfig.json",
  "tsconfig.build.json",
  // Written by the build from the op catalogue (below): a hand edit there is undone by the next.
  "editors/vscode/syntaxes/arch.tmLanguage.json",
];

function newest(path) {
  const s = statSync(path, { throwIfNoEntry: false });
  if (!s) return 0;
  if (!s.isDirectory()) return s.mtimeMs;
  return readdirSync(path).reduce((m, name) => Math.max(m, newest(join(path, name))), s.mtimeMs);
}

const force = process.argv.includes("--force");
const upToDate =
  !force &&
  existsSync(stamp) &&
  statSync(stamp).mtimeMs >= Math.max(...inputs.map((i) => newest(join(root, i))));
if (upToDate) {
  console.log("archc: dist/ is up to date (npm run build -- --force rebuilds)");
} else {
  // tsc has printed its errors; a stack trace of this script would only hide them.
  const run = (file, args) => {
    try {
      execFileSync(file, args, { cwd: root, stdio: "inherit" });
    } catch (e) {
      process.exit(typeof e.status === "number" ? e.status : 1);
    }
  };
  run(process.execPath, [
    join(root, "node_modules/typescript/bin/tsc"),
    "-p",
    "tsconfig.build.json",
  ]);
  run(process.execPath, [join(root, "scripts/bundle-cli.mjs")]);
  // The IR's JSON Schema, whole, for tools that validate without archc: validate.ts composes it
  // from the graph's part and the op definitions, so it is written from the build's own module.
  const { irSchema } = await import(
    pathToFileURL(join(root, "dist/compiler/language/ir/validate.js")).href
  );
  writeFileSync(
    join(root, "dist/compiler/language/ir/schema.json"),
    `${JSON.stringify(irSchema, null, 2)}\n`,
  );
  // The VS Code extension's grammar highlights the catalogue's layer words: written here, so a
  // new word needs no hand edit (test/editors/vscode.test.ts fails while the committed file is
  // stale).
  const { writeGrammar, grammarFile } = await import(
    pathToFileURL(join(root, "dist/compiler/cli/lsp/tmGrammar.js")).href
  );
  if (writeGrammar(root)) console.log(`archc: wrote the layer words of ${grammarFile}`);
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}
