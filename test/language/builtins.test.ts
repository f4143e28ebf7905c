import { describe, expect, it } from "vitest";
import { buildText, mustBuild } from "../helpers.js";

/** The filters of the one conv of `network n { input 8x8x3; conv 1x1 (EXPR) }`. */
function filters(expr: string, sets: string[] = []): number {
  const g = mustBuild(
    `network n(a = 3, b = 2.0) {\n  input 8x8x3\n  conv 1x1 (${expr})\n}\n`,
    sets,
  );
  const conv = g.nodes.find((n) => n.op === "conv")!;
  return conv.op === "conv" ? conv.attrs.filters : NaN;
}

/** The one diagnostic of that network with `expr`, and the text its span covers. */
function problem(expr: string) {
  const text = `network n(a = 3, b = 2.0) {\n  input 8x8x3\n  conv 1x1 (${expr})\n}\n`;
  const r = buildText(text);
  expect(r.graph).toBeUndefined();
  const d = r.diagnostics[0]!;
  const line = text.split("\n")[d.span.start.line - 1]!;
  return {
    code: d.code,
    message: d.message,
    at: line.slice(d.span.start.column - 1, d.span.end.column - 1),
  };
}

describe("math functions in expressions", () => {
  it("log and pow compute RegNet's quantised widths", () => {
    // Unit 5 of RegNetY-400MF: 48 * 2.09^round(log((48 + 27.89 * 5) / 48) / log(2.09)), to 8s.
    expect(
      filters("8 * round(48 * pow(2.09, round(log((48 + 27.89 * 5) / 48) / log(2.09))) / 8)"),
    ).toBe(208);
    expect(filters("round(pow(2, 0.5) * 10)")).toBe(14);
    expect(filters("round(log(a) * 100)")).toBe(110);
  });

  it("pow of integers is an integer, a count; of a float a float, which a count refuses", () => {
    expect(filters("pow(2, 5)")).toBe(32);
    expect(filters("pow(a, 2) + 1")).toBe(10);
    const p = problem("pow(b, 2)");
    expect(p.code).toBe("E0303");
    expect(p.message).toMatch(/4(\.0)?/);
  });

  it("floor, ceil and round give integers", () => {
    expect(filters("floor(7 / 2) + ceil(7 / 2) + round(2.5)")).toBe(10);
    expect(filters("round(-2.5) + 5")).toBe(3);
  });

  it("an argument outside the domain is E0504 at that argument", () => {
    expect(problem("round(log(a - 3))")).toMatchObject({ code: "E0504", at: "a - 3" });
    expect(problem("round(log(-b))").message).toMatch(/log needs a positive number, not -2/);
    expect(problem("round(pow(-b, 0.5))")).toMatchObject({ code: "E0504", at: "0.5" });
    expect(problem("round(pow(10, 400))")).toMatchObject({ code: "E0504" });
    expect(problem("round(pow(0, -1))")).toMatchObject({ code: "E0501", at: "-1" });
  });

  it("a wrong type or count of arguments names the function, at the argument or the call", () => {
    expect(problem('round(log("x"))')).toMatchObject({ code: "E0500", at: '"x"' });
    expect(problem("pow(2)")).toMatchObject({ code: "E0301", at: "pow(2)" });
    expect(problem("pow(2)").message).toBe("pow takes 2 arguments, not 1");
    expect(problem("round(1, 2)").message).toBe("round takes one argument, not 2");
  });

  it("an unknown function suggests the known one", () => {
    const p = buildText("network n {\n  input 8x8x3\n  conv 1x1 (powr(2, 3))\n}\n");
    expect(p.diagnostics[0]?.code).toBe("E0206");
    expect(p.diagnostics[0]?.hint).toMatch(/pow/);
  });
});
