import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildNetwork, loadProgram } from "../../compiler/language/program.js";
import { parse } from "../../grammar/parse.js";
import { print } from "../../grammar/printer.js";
import type { IRGraph } from "../../compiler/language/ir/types.js";
import { validateIR } from "../../compiler/language/ir/validate.js";
import { buildText, mustBuild } from "../helpers.js";

/**
 * `mul { branch ... }` and hard_swish in the language: shapes, parameters and MACs against
 * torchvision.ops.SqueezeExcitation's, the broadcasting rule, and the printer's round trip.
 */

/** torchvision.ops.SqueezeExcitation(c, s): avgpool, fc1 = Conv2d(c, s, 1), ReLU, fc2, sigmoid. */
const seDense = (c: number, s: number) => `block se(squeeze) {
  let c = in
  mul {
    branch { }
    branch { gap -> dense squeeze relu -> dense c sigmoid }
  }
}
network n {
  input 14x14x${c}
  se(${s})
}`;

/** The same with torchvision's own layers: a pool to [1, 1, c] and 1x1 convolutions with bias. */
const seConv = (c: number, s: number) => `network n {
  input 14x14x${c}
  mul {
    branch { }
    branch { avgpool 14x14 valid -> conv 1x1 ${s} relu -> conv 1x1 ${c} sigmoid }
  }
}`;

const byOp = (g: IRGraph, op: string) => g.nodes.filter((n) => n.op === op);

describe("mul: squeeze-and-excitation as torchvision builds it", () => {
  for (const [c, s] of [
    [64, 16],
    [96, 24],
    [240, 64],
  ] as const) {
    it(`SqueezeExcitation(${c}, ${s}): parameters and MACs of its two 1x1 convolutions`, () => {
      // fc1: c * s weights + s biases; fc2: s * c weights + c biases.
      const params = c * s + s + s * c + c;
      // What fvcore and thop count for a 1x1 convolution on a 1x1 map: in * out; the pool, the
      // activations and the product count 0.
      const macs = c * s + s * c;
      for (const text of [seDense(c, s), seConv(c, s)]) {
        const g = mustBuild(text);
        expect(validateIR(JSON.parse(JSON.stringify(g)))).toEqual([]);
        expect(g.totals.params.total).toBe(params);
        const fcs = g.nodes.filter((n) => n.op === "dense" || n.op === "conv");
        expect(fcs.reduce((m, n) => m + n.macs, 0)).toBe(macs);
        const [mul] = byOp(g, "mul");
        expect(mul!.shape).toEqual([14, 14, c]);
        expect(mul!.params).toEqual({ trainable: 0, nonTrainable: 0 });
        expect(mul!.macs).toBe(0);
        // The identity branch is the block's input itself; the gate is the last fc.
        expect(mul!.inputs.map((i) => g.nodes[i]!.shape)).toEqual([
          [14, 14, c],
          text.includes("dense") ? [c] : [1, 1, c],
        ]);
      }
    });
  }
});

describe("std/gating", () => {
  it("squeeze_excitation(s) is SqueezeExcitation(c, s); act and gate choose its activations", () => {
    const file = join(mkdtempSync(join(tmpdir(), "archc-gating-")), "se.arch");
    writeFileSync(
      file,
      `import "std/gating"
network n {
  input 14x14x96
  squeeze_excitation(24)
  squeeze_excitation(8, act = hard_swish, gate = hard_sigmoid)
}
`,
    );
    const p = loadProgram(file);
    expect(p.diagnostics).toEqual([]);
    const r = buildNetwork(p, p.table.networks.get("n")!, []);
    if (!r.ok) throw new Error(r.diagnostics[0]!.message);
    const g = r.graph;
    expect(g.totals.params.total).toBe(96 * 24 + 24 + 24 * 96 + 96 + (96 * 8 + 8 + 8 * 96 + 96));
    expect(g.totals.macs).toBe(2 * 96 * 24 + 2 * 96 * 8);
    const dense = g.nodes.flatMap((n) => (n.op === "dense" ? [n.attrs.activation] : []));
    expect(dense).toEqual(["relu", "sigmoid", "hard_swish", "hard_sigmoid"]);
    expect(g.nodes[g.output]!.shape).toEqual([14, 14, 96]);
  });
});

describe("mul: the broadcasting rule", () => {
  it("equal shapes multiply element-wise, any number of branches, in any order", () => {
    const g = mustBuild(`network n {
  input 8x8x4
  mul {
    branch { gap -> dense 4 sigmoid }
    branch { conv 1x1 4 }
    branch { }
    branch { avgpool 8x8 valid }
  }
}`);
    const [mul] = byOp(g, "mul");
    expect(mul!.shape).toEqual([8, 8, 4]);
    expect(mul!.inputs).toHaveLength(4);
  });

  it("vectors of one length multiply to that length; one branch is itself, no layer", () => {
    const g = mustBuild(`network n {
  input 8x8x4
  gap
  mul { branch { dense 4 } branch { } }
  mul { branch { dense 6 } }
}`);
    expect(byOp(g, "mul").map((n) => n.shape)).toEqual([[4]]);
    expect(g.nodes[g.output]!.shape).toEqual([6]);
  });

  it("two empty branches square the input", () => {
    const g = mustBuild(`network n {
  input 5x5x2
  mul { branch { } branch { } }
}`);
    const [mul] = byOp(g, "mul");
    expect(mul!.inputs).toEqual([0, 0]);
  });

  it("anything else is E0402 at the branch that does not fit", () => {
    for (const [branches, odd] of [
      ["branch { } branch { gap -> dense 3 }", 2],
      ["branch { conv 1x1 3 } branch { }", 2],
      ["branch { gap -> dense 3 } branch { }", 1],
      ["branch { avgpool 2x2 } branch { }", 2],
      ["branch { } branch { gap -> dense 4 } branch { conv 1x1 5 }", 3],
    ] as const) {
      const r = buildText(`network n {\n  input 8x8x4\n  mul {\n    ${branches}\n  }\n}`);
      expect(r.graph, branches).toBeUndefined();
      const d = r.diagnostics[0]!;
      expect(d.code).toBe("E0402");
      expect(d.message).toMatch(new RegExp(`^mul: branch ${odd} gives`));
      expect(d.span.start.line).toBe(4);
      expect(d.hint).toBeTruthy();
    }
  });
});

describe("hard_swish", () => {
  it("is an activation layer word and an activation argument, with no parameters", () => {
    const g = mustBuild(`network n {
  input 8x8x3
  conv 3x3 8 hard_swish -> hard_swish
  act(hard_swish)
  sepconv 3x3 8 mid=hard_swish
  gap -> dense 4 hard_swish
}`);
    expect(validateIR(JSON.parse(JSON.stringify(g)))).toEqual([]);
    const acts = g.nodes.filter((n) => n.op === "act");
    expect(acts.map((n) => [n.attrs.activation, n.params.trainable, n.macs])).toEqual([
      ["hard_swish", 0, 0],
      ["hard_swish", 0, 0],
    ]);
    expect(g.activations["hard_swish"]).toEqual({});
    expect(g.totals.params.total).toBe(3 * 3 * 3 * 8 + 8 + (3 * 3 * 8 + 8 * 8 + 8) + 8 * 4 + 4);
  });
});

describe("the printer", () => {
  it("prints mul as written, and the print parses back to the same text", () => {
    const text = `network n {
  input 8x8x4
  mul {
    branch {}
    branch { gap -> dense 4 sigmoid }
  }
}
`;
    const once = parse("a.arch", text);
    expect(once.diagnostics).toEqual([]);
    const printed = print(once.program, once.comments);
    expect(printed).toBe(text);
    expect(print(parse("a.arch", printed).program)).toBe(printed);
  });
});
