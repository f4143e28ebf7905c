import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatSource } from "../../compiler/cli/commands/fmt.js";
import { parse } from "../../grammar/parse.js";
import { loadProgram, buildNetwork } from "../../compiler/language/program.js";
import type { IRGraph } from "../../compiler/language/ir/types.js";
import { astText } from "../helpers.js";

const repo = join(import.meta.dirname, "..", "..");

function archFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return archFiles(p);
    return f.endsWith(".arch") ? [p] : [];
  });
}

const files = [
  ...archFiles(join(repo, "specs")),
  ...archFiles(join(repo, "stdlib")),
  ...archFiles(join(repo, "examples")),
  ...archFiles(join(repo, "test", "golden", "parse")),
];

/** Spans and node ids differ after formatting; what the network is must not. */
function withoutSpans(text: string): string {
  return text.replace(/"span": "[^"]*"/g, '"span": ""');
}
function irWithoutSources(g: IRGraph): unknown {
  return {
    ...g,
    nodes: g.nodes.map((n) => ({
      ...n,
      source: undefined,
      blocks: n.blocks.map((b) => ({ ...b, call: undefined })),
    })),
  };
}

describe("fmt", () => {
  it("covers files", () => expect(files.length).toBeGreaterThan(4));

  for (const file of files) {
    const name = file.slice(repo.length + 1);
    it(`is idempotent and keeps the AST: ${name}`, () => {
      const text = readFileSync(file, "utf8");
      const once = formatSource(file, text).text!;
      expect(once).toBeDefined();
      expect(formatSource(file, once).text).toBe(once);
      const a = parse(file, text);
      const b = parse(file, once);
      expect(b.diagnostics).toEqual([]);
      expect(withoutSpans(astText(b.program))).toBe(withoutSpans(astText(a.program)));
      // Comments survive: the same comment texts in the same order.
      expect(b.comments.map((c) => c.image.trimEnd())).toEqual(
        a.comments.map((c) => c.image.trimEnd()),
      );
    });
  }

  it("committed specs and stdlib are already formatted", () => {
    for (const file of files.filter((f) => !f.includes("/test/"))) {
      const text = readFileSync(file, "utf8");
      expect(formatSource(file, text).text, file).toBe(text);
    }
  });

  it("a formatted file elaborates to the same IR", () => {
    const file = join(repo, "specs", "xception.arch");
    const text = readFileSync(file, "utf8");
    const messy = text
      .replace(/\n  /g, "\n      ")
      .replace(/ -> /g, "\n    -> ")
      .replace(/\) \{/g, ")   {");
    expect(messy).not.toBe(text);
    const read = (t: string) => (p: string) => (p === file ? t : readFileSync(p, "utf8"));
    const build = (t: string) => {
      const prog = loadProgram(file, read(t));
      expect(prog.diagnostics).toEqual([]);
      const r = buildNetwork(prog, prog.table.networks.get("xception")!, []);
      if (!r.ok) throw new Error(r.diagnostics[0]!.message);
      return irWithoutSources(r.graph);
    };
    const formatted = formatSource(file, messy).text!;
    expect(formatted).toBe(text);
    expect(build(formatted)).toEqual(build(messy));
  });

  it("refuses to format a file that does not parse", () => {
    const r = formatSource("x.arch", "network n {\n  conv 3x3 )\n}\n");
    expect(r.text).toBeUndefined();
    expect(r.errors).toContain("E0102");
  });
});
