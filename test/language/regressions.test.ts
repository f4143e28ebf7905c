import { describe, expect, it } from "vitest";
import { checkProgram, loadProgram } from "../../compiler/language/program.js";
import { buildText, mustBuild } from "../helpers.js";

function check(text: string) {
  return checkProgram(loadProgram("/virtual/r.arch", () => text));
}

describe("regressions found while writing docs/LANGUAGE.md", () => {
  it("min and max of two or more values", () => {
    const g = mustBuild("network n(j = min(3, 2)) {\n  input 4x4x8\n  conv 1x1 max(j, 5, 4)\n}\n");
    expect(g.nodes[1]!.shape[2]).toBe(5);
    expect(g.args).toEqual({ j: 2 });
  });

  it("an experiment that compares nothing is a diagnostic, not an internal error", () => {
    expect(check('experiment y { description "x" }\n').map((d) => d.code)).toEqual(["E0302"]);
  });

  it("a zero stride in a size literal is rejected; stride=2x2 is accepted", () => {
    expect(buildText("network n {\n  input 8x8x3\n  conv 3x3/0 8\n}\n").diagnostics[0]?.code).toBe(
      "E0305",
    );
    expect(
      mustBuild("network n {\n  input 8x8x3\n  conv 3x3 8 stride=2x2\n}\n").nodes[1]!.shape,
    ).toEqual([4, 4, 8]);
  });

  it("'in' cannot be a parameter or let name", () => {
    expect(check("block b(in) { relu }\n").map((d) => d.code)).toEqual(["E0204"]);
    expect(check("block b() {\n  let in = 3\n  relu\n}\n").map((d) => d.code)).toEqual(["E0204"]);
  });

  it("linear is an identity layer", () => {
    expect(
      mustBuild("network n {\n  input 4x4x2\n  linear -> relu\n}\n").nodes.map((n) => n.op),
    ).toEqual(["input", "act"]);
  });

  it("a width that does not divide speaks of widths; a whole float says to use //", () => {
    const w = buildText("network n {\n  input 8x8x24\n  conv 3x3 64 width=4\n}\n").diagnostics[0]!;
    expect(w.message).toMatch(/width 4/);
    expect(w.hint).toMatch(/nearest valid widths are 3 and 6/);
    const f = buildText("network n {\n  input 8x8x6\n  conv 1x1 (in / 4 * 2)\n}\n").diagnostics[0]!;
    expect(f.message).toMatch(/not an integer/);
    expect(f.hint).toMatch(/\/\//);
  });
});
