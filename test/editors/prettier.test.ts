import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import * as prettier from "prettier";
import { describe, expect, it } from "vitest";
import plugin from "../../compiler/prettier.js";
import { formatSource } from "../../compiler/cli/commands/fmt.js";

const repo = join(import.meta.dirname, "..", "..");
const specs = readdirSync(join(repo, "specs"))
  .filter((f) => f.endsWith(".arch"))
  .map((f) => join(repo, "specs", f));

describe("the prettier plugin archc/prettier", () => {
  it("formats every spec exactly as archc fmt does, found by the file's extension", async () => {
    expect(specs.length).toBeGreaterThan(3);
    for (const file of specs) {
      const text = readFileSync(file, "utf8");
      const messy = text.replace(/\n {2}/g, "\n      ").replace(/ -> /g, "->");
      expect(messy).not.toBe(text);
      const out = await prettier.format(messy, { filepath: file, plugins: [plugin] });
      expect(out, file).toBe(formatSource(file, messy).text);
      // Formatting is a fixed point, and prettier --check agrees.
      expect(await prettier.check(out, { filepath: file, plugins: [plugin] }), file).toBe(true);
    }
  });

  it("takes its parser by name, and keeps comments", async () => {
    const text = "# a comment\nnetwork   n( a=1 ){\ninput 8x8x3 # the input\n gap->dense 2}\n";
    const out = await prettier.format(text, { parser: "arch", plugins: [plugin] });
    expect(out).toBe(
      "# a comment\nnetwork n(a = 1) {\n  input 8x8x3  # the input\n  gap -> dense 2\n}\n",
    );
  });

  it("rejects text that does not parse with archc's message and its place", async () => {
    const bad = "network n() {\n  input 8x8x3\n  conv 3x3 8 ->\n";
    const err = await prettier.format(bad, { parser: "arch", plugins: [plugin] }).then(
      () => undefined,
      (e: unknown) => e as Error & { loc?: { start: { line: number; column: number } } },
    );
    expect(err).toBeDefined();
    expect(err!.message).toMatch(/error\[E0102\]/);
    expect(err!.loc?.start.line).toBeGreaterThanOrEqual(3);
  });

  it("is found through package.json's exports as archc/prettier", () => {
    const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as {
      exports: Record<string, { default: string; types: string }>;
    };
    expect(pkg.exports["./prettier"]).toEqual({
      types: "./dist/compiler/prettier.d.ts",
      default: "./dist/compiler/prettier.js",
    });
  });
});
