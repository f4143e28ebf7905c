import { describe, expect, it } from "vitest";
import { validateIR } from "../../compiler/language/ir/validate.js";
import { buildText, mustBuild } from "../helpers.js";

/** A ShuffleNet-like unit: grouped 1x1, shuffle, depthwise 3x3, grouped 1x1; then upsampling. */
const spec = `
network s(groups = 4) {
  input 8x8x3
  conv 3x3 24 -> relu
  conv 1x1 24 parts=groups -> shuffle groups
  conv 3x3 24 parts=depthwise -> conv 1x1 24 parts=groups
  shuffle groups = 2
  upsample 2
  upsample 2x3 name = "wide"
  gap -> dense 5
}
`;

describe("shuffle and upsample: shapes, parameters and MACs", () => {
  it("keep or scale the image, with no parameters and no MACs", () => {
    const g = mustBuild(spec);
    expect(validateIR(JSON.parse(JSON.stringify(g)))).toEqual([]);
    const byOp = (op: string) => g.nodes.filter((n) => n.op === op);
    const shuffles = byOp("shuffle");
    expect(shuffles.map((n) => n.attrs)).toEqual([{ groups: 4 }, { groups: 2 }]);
    for (const n of shuffles) expect(n.shape).toEqual([8, 8, 24]);
    const ups = byOp("upsample");
    expect(ups.map((n) => [n.name, n.attrs, n.shape])).toEqual([
      ["upsample", { factor: [2, 2] }, [16, 16, 24]],
      ["wide", { factor: [2, 3] }, [32, 48, 24]],
    ]);
    for (const n of [...shuffles, ...ups]) {
      expect(n.params).toEqual({ trainable: 0, nonTrainable: 0 });
      expect(n.macs).toBe(0);
    }
    // Totals are the convolutions' and the dense layer's alone.
    const convs = 3 * 3 * 3 * 24 + 24 + (24 / 4) * 24 + 24 + 9 * 24 + 24 + (24 / 4) * 24 + 24;
    expect(g.totals.params.total).toBe(convs + 24 * 5 + 5);
  });

  it("a block argument gives the groups; every divisor of the channels is accepted", () => {
    for (const groups of [1, 2, 3, 4, 6, 8, 12, 24]) {
      const r = buildText(spec.replace("shuffle groups = 2", `shuffle ${groups}`));
      expect(r.diagnostics, String(groups)).toEqual([]);
    }
  });

  it("groups take the words of parts: regular is 1, depthwise one channel per group", () => {
    const groupsOf = (w: string) =>
      mustBuild(spec.replace("shuffle groups = 2", `shuffle ${w}`)).nodes.filter(
        (n) => n.op === "shuffle",
      )[1]!.attrs;
    expect(groupsOf("regular")).toEqual({ groups: 1 });
    expect(groupsOf("depthwise")).toEqual({ groups: 24 });
    expect(groupsOf("groups = depthwise")).toEqual({ groups: 24 });
  });

  it("groups that do not divide the channels are located, naming the valid divisors", () => {
    const r = buildText(spec, ["groups=5"]);
    expect(r.diagnostics[0]?.code).toBe("E0400");
    // The grouped conv before the shuffle reports first; alone, the shuffle reports itself.
    const alone = buildText(spec.replace("shuffle groups = 2", "shuffle 5"));
    const d = alone.diagnostics[0]!;
    expect(d.code).toBe("E0400");
    expect(d.message).toBe(
      "shuffle 'shuffle_1': 24 input channels are not divisible by groups = 5",
    );
    expect(d.hint).toBe(
      "the nearest valid values are 4 and 6 (the divisors of 24: 1, 2, 3, 4, 6, 8, 12, 24)",
    );
    expect([d.span.start.line, d.span.start.column]).toEqual([7, 11]);
  });

  it("bad arguments and inputs are diagnostics, not crashes", () => {
    const cases: [string, string][] = [
      ["shuffle groups = 0", "E0305"],
      ["shuffle", "E0302"],
      ["shuffle 2.5", "E0303"],
      ["shuffle groups = same", "E0303"],
      ["upsample 0", "E0305"],
      ["upsample 2x2/2", "E0303"],
      ["gap -> shuffle 2", "E0404"],
      ["gap -> upsample 2", "E0404"],
    ];
    for (const [line, code] of cases) {
      const r = buildText(`network n {\n  input 8x8x4\n  ${line}\n}\n`);
      expect(
        r.diagnostics.map((d) => d.code),
        line,
      ).toEqual([code]);
      expect(r.diagnostics[0]!.span.start.line, line).toBe(3);
    }
  });
});
