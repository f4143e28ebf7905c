import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../compiler/language/paths.js";

// The built CLI reads the standard library's parses stored beside its bundle
// (compiler/language/preparedTrees.ts): an installed copy whose standard module was edited
// after the build checks the edited text, never the stored tree of the old one.
const dir = mkdtempSync(join(tmpdir(), "archc-installed-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("an installed archc with an edited standard module", () => {
  it("checks the module as it is on disk", () => {
    if (!existsSync(join(packageRoot, "dist/cli/std-trees")))
      throw new Error("dist/ is missing: npm ci (or npm run build) builds it");
    for (const part of ["bin", "dist/cli", "stdlib", "specs", "package.json"])
      cpSync(join(packageRoot, part), join(dir, part), { recursive: true });
    symlinkSync(join(packageRoot, "node_modules"), join(dir, "node_modules"));
    const check = () =>
      spawnSync(process.execPath, [join(dir, "bin/archc.cjs"), "check", "specs/xception.arch"], {
        cwd: dir,
        encoding: "utf8",
        env: { ...process.env, NODE_DISABLE_COMPILE_CACHE: "1" },
      });
    const before = check();
    expect(before.stderr).toBe("");
    expect(before.status).toBe(0);
    // The stored trees are there and would be read for the text as built.
    const module = join(dir, "stdlib/xception.arch");
    const text = readFileSync(module, "utf8");
    expect(text).toMatch(/^block middle\(/m);
    writeFileSync(module, text.replace(/^block middle\(/m, "block centre("));
    const after = check();
    expect(after.status).toBe(1);
    expect(after.stderr).toMatch(/middle/);
  }, 60_000);
});
