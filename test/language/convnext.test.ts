import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { validateIR } from "../../compiler/language/ir/validate.js";
import { analyse } from "../../compiler/services/analysis.js";
import { hover } from "../../compiler/services/hover.js";
import { buildText, mustBuild } from "../helpers.js";

/** A ConvNeXt block on a small map, then the classifier head's layer norm on a vector. */
const spec = `
network n(drop = 0.2, scale = 0.5) {
  input 6x6x8
  residual {
    conv 7x7 8 pad = 3 parts = depthwise
    layernorm
    conv 1x1 32 gelu
    conv 1x1 8
    layerscale scale
    droppath drop
  }
  gap -> layernorm epsilon = 1e-5 scale = false -> dense 3
}
`;

describe("layernorm, gelu, layerscale and droppath: shapes, parameters and MACs", () => {
  it("keep the shape; layernorm and layerscale learn per channel, droppath nothing", () => {
    const g = mustBuild(spec);
    expect(validateIR(JSON.parse(JSON.stringify(g)))).toEqual([]);
    const byOp = (op: string) => g.nodes.filter((n) => n.op === op);
    expect(byOp("layernorm").map((n) => [n.attrs, n.shape, n.params, n.macs])).toEqual([
      [
        { epsilon: 1e-6, scale: true, center: true },
        [6, 6, 8],
        { trainable: 16, nonTrainable: 0 },
        0,
      ],
      [{ epsilon: 1e-5, scale: false, center: true }, [8], { trainable: 8, nonTrainable: 0 }, 0],
    ]);
    expect(byOp("layerscale").map((n) => [n.attrs, n.shape, n.params, n.macs])).toEqual([
      [{ init: 0.5 }, [6, 6, 8], { trainable: 8, nonTrainable: 0 }, 0],
    ]);
    expect(byOp("droppath").map((n) => [n.attrs, n.shape, n.params, n.macs])).toEqual([
      [{ rate: 0.2 }, [6, 6, 8], { trainable: 0, nonTrainable: 0 }, 0],
    ]);
    expect(byOp("conv")[1]!.attrs).toMatchObject({ activation: "gelu" });
    const convs = 49 * 8 + 8 + (8 * 32 + 32) + (32 * 8 + 8);
    expect(g.totals.params.total).toBe(convs + 16 + 8 + 8 + (8 * 3 + 3));
  });

  it("the defaults are ConvNeXt's: epsilon 1e-6, layer scale 1e-6, droppath 0.1", () => {
    const g = mustBuild("network n {\n  input 4x4x2\n  layernorm -> layerscale -> droppath\n}\n");
    expect(g.nodes.slice(1).map((n) => n.attrs)).toEqual([
      { epsilon: 1e-6, scale: true, center: true },
      { init: 1e-6 },
      { rate: 0.1 },
    ]);
  });

  it("bad values are located diagnostics that say what would be right", () => {
    const cases: [string, string, RegExp][] = [
      ["layernorm epsilon = 0", "E0305", /epsilon must be greater than 0, not 0/],
      ["layernorm epsilon = -1e-6", "E0305", /epsilon must be greater than 0/],
      ["layernorm scale = 2", "E0303", /scale/],
      ["droppath 1", "E0305", /rate must be in \[0, 1\), not 1/],
      ["droppath -0.1", "E0305", /rate must be in \[0, 1\)/],
      ["layerscale true", "E0303", /no argument of layerscale takes true/],
    ];
    for (const [line, code, message] of cases) {
      const r = buildText(`network n {\n  input 8x8x4\n  ${line}\n}\n`);
      expect(
        r.diagnostics.map((d) => d.code),
        line,
      ).toEqual([code]);
      const d = r.diagnostics[0]!;
      expect(d.message, line).toMatch(message);
      expect(d.span.start.line, line).toBe(3);
      expect(d.span.start.column, line).toBeGreaterThan(3);
    }
  });

  it("PyTorch's eps= gets 'did you mean epsilon'", () => {
    const r = buildText("network n {\n  input 8x8x4\n  layernorm eps = 1e-6\n}\n");
    const d = r.diagnostics[0]!;
    expect(d.hint).toMatch(/did you mean 'epsilon'\?/);
    expect([d.span.start.line, d.span.start.column]).toEqual([3, 13]);
  });

  it("the editor's hover says what each layer and attribute is, with its figures", () => {
    const a = analyse("/virtual/n.arch", 1, spec, (p) => readFileSync(p, "utf8"));
    const at = (line: number, character: number) =>
      JSON.stringify(hover(a, { line, character })?.contents);
    // Lines of `spec` (0-based): 5 layernorm, 8 layerscale, 9 droppath.
    expect(at(5, 5)).toMatch(/\*\*layernorm\*\*: layer normalisation over the channels/);
    expect(at(5, 5)).toMatch(/16/);
    expect(at(8, 5)).toMatch(/\*\*layerscale\*\*: a learnable multiplier per channel/);
    expect(at(9, 5)).toMatch(/\*\*droppath\*\*: stochastic depth/);
    expect(at(11, 22)).toMatch(/\*\*layernorm\*\* `epsilon`: added to the variance/);
  });
});
