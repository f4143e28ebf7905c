import { describe, expect, it } from "vitest";
import { emitTorch } from "../../../compiler/backends/torch/emit.js";
import { mustBuild } from "../../helpers.js";

/** The classes a module defines, with the first line of each docstring. */
function classes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^class (\w+)\(nn\.Module\):\n {4}"""([^\n"]*)/gm))
    out.set(m[1]!, m[2]!);
  return out;
}

describe("torch classes come from the block calls the IR records", () => {
  it("blocks stage_1 and stage_2 are two classes, each documented with its own name", () => {
    const text = emitTorch(
      mustBuild(`
        block stage_1(f) { conv 3x3 f -> bn -> relu }
        block stage_2(f) { sepconv 3x3 f -> bn -> relu }
        network n { input 16x16x3
          stage_1(8) -> stage_2(16)
          gap -> dense 2 }`),
    );
    const c = classes(text);
    expect(c.get("Stage1")).toBe("Block stage_1.");
    expect(c.get("Stage2")).toBe("Block stage_2.");
    expect(text).toContain("self.stage_1 = Stage1()");
    expect(text).toContain("self.stage_2 = Stage2()");
  });

  it("one block called with three parts values is one class, parts its parameter", () => {
    const text = emitTorch(
      mustBuild(`
        block stage(p) { conv 3x3 16 parts = p -> bn -> relu }
        network n { input 16x16x16
          stage(1) -> stage(2) -> stage(4)
          gap -> dense 2 }`),
    );
    const c = classes(text);
    expect([...c.keys()].filter((k) => k.startsWith("Stage"))).toEqual(["Stage"]);
    expect(c.get("Stage")).toBe("Block stage.");
    expect(text).toMatch(/def __init__\(self, p: int\)/);
    expect(text).toContain("self.stage = Stage(1)");
    expect(text).toContain("self.stage_1 = Stage(2)");
    expect(text).toContain("self.stage_2 = Stage(4)");
  });

  it("each node records the chain of block calls it came from, with the call's span", () => {
    const g = mustBuild(`block inner(f) { conv 1x1 f }
block outer(f) { inner(f) -> relu }
network n { input 8x8x3
  outer(4) -> outer(6)
  gap -> dense 2 }`);
    const conv = g.nodes.find((n) => n.name === "outer_1/inner/conv")!;
    expect(conv.blocks.map((b) => [b.block, b.instance, b.args])).toEqual([
      ["outer", "outer_1", { f: 6 }],
      ["inner", "inner", { f: 6 }],
    ]);
    expect(conv.blocks[0]!.call).toMatchObject({ line: 4, column: 15 });
    expect(g.nodes.find((n) => n.op === "dense")!.blocks).toEqual([]);
  });
});
