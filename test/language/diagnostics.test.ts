import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { stdlibDir } from "../../compiler/language/paths.js";
import { expectGolden } from "../golden.js";
import { runCli } from "../helpers.js";

const root = join(import.meta.dirname, "..", "golden", "diagnostics");
const cases = join(root, "cases");

/** Each case is a file, or a folder whose main.arch is checked. */
const entries = readdirSync(cases).map((name) => {
  const path = join(cases, name);
  const file = statSync(path).isDirectory()
    ? existsSync(join(path, "main.arch"))
      ? join(path, "main.arch")
      : join(path, "inner", "main.arch")
    : path;
  return { name: name.replace(/\.arch$/, ""), file };
});

/**
 * Cases whose diagnostics point into the standard library, whose place differs between
 * checkouts: the goldens name it <stdlib>.
 */
const imported = join(root, "imported");

describe("diagnostics for each class of bad input (golden)", () => {
  for (const name of readdirSync(imported).map((f) => f.replace(/\.arch$/, ""))) {
    it(`${name} (into the standard library)`, async () => {
      const cwd = process.cwd();
      process.chdir(root);
      try {
        const r = await runCli("check", join("imported", `${name}.arch`));
        expect(r.code).toBe(1);
        expect(r.stdout).toBe("");
        expectGolden(join(root, `${name}.txt`), r.stderr.replaceAll(stdlibDir, "<stdlib>"));
      } finally {
        process.chdir(cwd);
      }
    });
  }

  for (const { name, file } of entries) {
    it(name, async () => {
      const cwd = process.cwd();
      process.chdir(root);
      try {
        const r = await runCli("check", relative(root, file));
        expect(r.code).toBe(1);
        expect(r.stdout).toBe("");
        expectGolden(join(root, `${name}.txt`), r.stderr);
      } finally {
        process.chdir(cwd);
      }
    });
  }

  it("unknown_network: -n names a network the file lacks; the command line is pointed at", async () => {
    const cwd = process.cwd();
    process.chdir(root);
    try {
      const r = await runCli("summary", "cli/two_networks.arch", "-n", "larg");
      expect(r.code).toBe(1);
      expectGolden(join(root, "unknown_network.txt"), r.stderr);
    } finally {
      process.chdir(cwd);
    }
  });

  it("float_set: an integral float from --set says it is a float, not that it came from '/'", async () => {
    const cwd = process.cwd();
    process.chdir(root);
    try {
      const r = await runCli("summary", "cli/float_set.arch", "-s", "classes=1e9");
      expect(r.code).toBe(1);
      expect(r.stderr).not.toContain("'/')");
      expectGolden(join(root, "float_set.txt"), r.stderr);
    } finally {
      process.chdir(cwd);
    }
  });

  it("a file with three independent syntax errors reports all three, located", async () => {
    const r = await runCli("check", join(cases, "syntax_three.arch"), "--json");
    const parsed = JSON.parse(r.stdout) as {
      files: { diagnostics: { line: number; code: string }[] }[];
    };
    const ds = parsed.files[0]!.diagnostics;
    expect(ds.map((d) => [d.code, d.line])).toEqual([
      ["E0102", 3],
      ["E0102", 4],
      ["E0102", 5],
    ]);
    expect(r.code).toBe(1);
  });
});
