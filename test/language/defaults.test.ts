import { describe, expect, it } from "vitest";
import type { IRGraph } from "../../compiler/language/ir/types.js";
import { buildText, mustBuild } from "../helpers.js";

/** `defaults LAYER(...)` statements and `default`, the argument that is not given. */

const bnOf = (g: IRGraph, name: string) => {
  const n = g.nodes.find((x) => x.name === name);
  if (n?.op !== "bn") throw new Error(`no batch norm ${name}`);
  return [n.attrs.epsilon, n.attrs.momentum];
};

const unit = `block unit(f, epsilon = default, momentum = default) {
  conv 3x3 f -> bn epsilon=epsilon momentum=momentum -> relu
}
`;

describe("defaults", () => {
  it("sets a layer's attributes for the rest of the body and the blocks it calls", () => {
    const g = mustBuild(
      unit +
        `network n() {
  input 8x8x3
  bn
  defaults bn(epsilon = 1e-5, momentum = 0.9)
  unit(8)
  unit(8, epsilon = 0.01)
  bn momentum=0.5
}
`,
    );
    // Before the statement: bn's own defaults.
    expect(bnOf(g, "bn")).toEqual([1e-3, 0.99]);
    expect(bnOf(g, "unit/bn")).toEqual([1e-5, 0.9]);
    // What a call or a layer gives wins over the defaults.
    expect(bnOf(g, "unit_1/bn")).toEqual([0.01, 0.9]);
    expect(bnOf(g, "bn_1")).toEqual([1e-5, 0.5]);
  });

  it("ends with the body it is in, and a later one adds to the earlier", () => {
    const g = mustBuild(
      unit +
        `network n() {
  input 8x8x3
  defaults bn(epsilon = 1e-5)
  concat {
    branch { defaults bn(momentum = 0.5) -> bn }
    branch { bn }
  }
  bn
}
`,
    );
    expect(bnOf(g, "bn")).toEqual([1e-5, 0.5]);
    expect(bnOf(g, "bn_1")).toEqual([1e-5, 0.99]);
    expect(bnOf(g, "bn_2")).toEqual([1e-5, 0.99]);
  });

  it("gives the IR what writing the attributes on every layer gives", () => {
    const body = (bn: string) => `network n() {
  input 8x8x3
  ${bn === "" ? "defaults bn(epsilon = 1e-5, momentum = 0.9)" : ""}
  conv 3x3 8 -> bn ${bn} -> relu
  conv 3x3 8 -> bn ${bn}
}
`;
    const a = mustBuild(body(""));
    const b = mustBuild(body("epsilon=1e-5 momentum=0.9"));
    const strip = (g: IRGraph) => g.nodes.map(({ source: _, ...n }) => n);
    expect(strip(a)).toEqual(strip(b));
  });

  it("checks its values as the layer would", () => {
    const r = buildText("network n() {\n  defaults bn(epsilon = -1)\n  input 8x8x3\n  bn\n}\n");
    expect(r.diagnostics.map((d) => [d.code, d.span.start.line])).toEqual([["E0305", 2]]);
  });
});

describe("default, the argument not given", () => {
  it("leaves a layer's attribute to its default, also as a bare argument", () => {
    const g = mustBuild(`block c(padding = default, pad = default) {
  conv 3x3 4 padding pad=pad
}
network n() {
  input 8x8x3
  c()
  c(padding = valid)
  c(pad = 1)
}
`);
    expect(g.nodes.slice(1).map((n) => n.shape)).toEqual([
      [8, 8, 4],
      [6, 6, 4],
      [6, 6, 4],
    ]);
  });

  it("a block call records only the arguments given or defaulted to a value", () => {
    const g = mustBuild(unit + "network n() {\n  input 8x8x3\n  unit(8, momentum = 0.5)\n}\n");
    expect(g.nodes[1]!.blocks[0]!.args).toEqual({ f: 8, momentum: 0.5 });
  });
});
