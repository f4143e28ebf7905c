import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseExpression } from "../../grammar/parse.js";
import { expectGolden } from "../golden.js";
import { astText } from "../helpers.js";

const dir = join(import.meta.dirname, "..", "golden", "parse");

describe("parser output (golden)", () => {
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".arch"))) {
    it(f, () => {
      const r = parse(f, readFileSync(join(dir, f), "utf8"));
      expect(r.diagnostics).toEqual([]);
      expectGolden(join(dir, f.replace(/\.arch$/, ".ast.json")), astText(r.program) + "\n");
    });
  }
});

describe("parser details", () => {
  it("binary operators are left-associative with the usual precedence", () => {
    const { expr } = parseExpression("x", "10 - 2 - 3 * 2");
    expect(astText(expr)).toContain('"op": "-"');
    expect(expr.kind === "Binary" && expr.right.kind === "Binary" && expr.right.op).toBe("*");
    expect(expr.kind === "Binary" && expr.left.kind === "Binary" && expr.left.op).toBe("-");
  });

  it("line breaks inside brackets and after '->' do not end a statement", () => {
    const r = parse(
      "x",
      "network n {\n  input 4x4x1\n  conv(\n    1x1,\n    2\n  )\n  -> relu ->\n  elu\n}\n",
    );
    expect(r.diagnostics).toEqual([]);
    const body = r.program.decls[0]!.kind === "NetworkDecl" ? r.program.decls[0]!.body : undefined;
    expect(body?.stmts).toHaveLength(2);
  });

  it("residual and epochs stay usable as names", () => {
    const r = parse(
      "x",
      "network n(residual = true, epochs = 2) {\n  input 4x4x1\n  residual enabled=residual { relu }\n}\ntrain t { epochs 3 }\n",
    );
    expect(r.diagnostics).toEqual([]);
  });

  it("a time is written on its number: 5ms is a time, and a word after a number stays a word", () => {
    const time = parseExpression("x", "latency <= 1.5ms");
    expect(time.diagnostics).toEqual([]);
    expect(time.expr).toMatchObject({
      kind: "Binary",
      right: { kind: "Quantity", unit: "ms", amount: { kind: "Number", value: 1.5 } },
    });
    for (const [text, unit] of [
      ["250us", "us"],
      ["2s", "s"],
      ["1e3ms", "ms"],
    ] as const)
      expect(parseExpression("x", text).expr).toMatchObject({ kind: "Quantity", unit });
    // `2steps` is no time; `s` after a space is a name (`conv 3x3 8 s`).
    expect(parseExpression("x", "2 steps").expr).toMatchObject({ unit: "steps" });
    expect(
      parse("x", "network n(s = 2) {\n  input 4x4x1\n  conv 3x3 8 s\n}\n").diagnostics,
    ).toEqual([]);
  });

  it("spans point at the source", () => {
    const r = parse("f.arch", "network n {\n  input 4x4x1\n  conv 3x3 8\n}\n");
    const net = r.program.decls[0]!;
    const stmt = net.kind === "NetworkDecl" ? net.body.stmts[1]! : undefined;
    expect(stmt?.span.start).toEqual({ offset: 28, line: 3, column: 3 });
    expect(stmt?.span.file).toBe("f.arch");
  });

  it("recovers and reports errors in separate declarations", () => {
    const r = parse(
      "x",
      "block a( { relu }\nnetwork b {\n  input 4x4x1\n  conv 3x3 )\n}\ntrain t { optimizer = }\n",
    );
    expect(r.diagnostics.length).toBeGreaterThanOrEqual(3);
    expect(new Set(r.diagnostics.map((d) => d.span.start.line)).size).toBeGreaterThanOrEqual(3);
  });
});
