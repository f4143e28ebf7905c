import { describe, expect, it } from "vitest";
import type { IRGraph, NodeOf } from "../../compiler/language/ir/types.js";
import { validateIR } from "../../compiler/language/ir/validate.js";
import { buildText, mustBuild } from "../helpers.js";

/** Explicit padding (`pad = ...` on conv, sepconv and pools) and the `zeropad` layer. */

function node(g: IRGraph, name: string) {
  const n = g.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name}`);
  return n;
}

function firstError(text: string) {
  const r = buildText(text);
  expect(r.graph).toBeUndefined();
  return r.diagnostics[0]!;
}

describe("explicit padding", () => {
  const g = mustBuild(`network padded {
  input 16x14x3
  conv 3x3/2 8 pad = 1
  conv 3x3 8 pad = [0, 1, 0, 1] bias = false
  sepconv 3x3 12 pad = 2x1
  sepconv 3x3 6 order = pointwise_first pad = [1, 0, 2, 1]
  maxpool 3x3/2 pad = 1
  avgpool 3x3 stride = 1 pad = [1, 1]
  zeropad [1, 2, 0, 3]
  zeropad 1
}`);

  it("pads then runs the window 'valid': PyTorch's output sizes", () => {
    // (16 + 2 - 3) // 2 + 1 = 8, (14 + 2 - 3) // 2 + 1 = 7: as nn.Conv2d(3, 8, 3, 2, padding=1).
    const c = node(g, "conv") as NodeOf<"conv">;
    expect(c.shape).toEqual([8, 7, 8]);
    expect(c.attrs.pads).toEqual([1, 1, 1, 1]);
    expect(c.attrs.padding).toBe("valid");
    // One more row and column at the bottom/right: 8 + 1 - 3 + 1 = 7, 7 + 1 - 3 + 1 = 6.
    expect(node(g, "conv_1").shape).toEqual([7, 6, 8]);
    expect(node(g, "conv_1").attrs).toMatchObject({ pads: [0, 1, 0, 1] });
    // 2x1 pads rows by 2 and columns by 1 on both sides: 7 + 4 - 2 = 9, 6 + 2 - 2 = 6.
    expect(node(g, "sepconv").shape).toEqual([9, 6, 12]);
    expect(node(g, "sepconv").attrs).toMatchObject({ pads: [2, 2, 1, 1] });
    // [t, b, l, r] = [1, 0, 2, 1]: 9 + 1 - 2 = 8, 6 + 3 - 2 = 7.
    expect(node(g, "sepconv_1").shape).toEqual([8, 7, 6]);
    // (8 + 2 - 3) // 2 + 1 = 4, (7 + 2 - 3) // 2 + 1 = 4.
    expect(node(g, "maxpool").shape).toEqual([4, 4, 6]);
    expect(node(g, "maxpool").attrs).toEqual({
      pool: [3, 3],
      strides: [2, 2],
      padding: "valid",
      pads: [1, 1, 1, 1],
    });
    expect(node(g, "avgpool").shape).toEqual([4, 4, 6]);
    expect(node(g, "zeropad").shape).toEqual([7, 7, 6]);
    expect(node(g, "zeropad").attrs).toEqual({ pads: [1, 2, 0, 3] });
    expect(node(g, "zeropad_1").shape).toEqual([9, 9, 6]);
  });

  it("parameters are unchanged and MACs follow the output size only", () => {
    expect(node(g, "conv").params.trainable).toBe(3 * 3 * 3 * 8 + 8);
    expect(node(g, "conv").macs).toBe(8 * 7 * (3 * 3 * 3 * 8));
    expect(node(g, "conv_1").params.trainable).toBe(3 * 3 * 8 * 8);
    expect(node(g, "conv_1").macs).toBe(7 * 6 * (3 * 3 * 8 * 8));
    // Spatial first: both steps at the output size.
    expect(node(g, "sepconv").macs).toBe(9 * 6 * (3 * 3 * 8 + 8 * 12));
    // Pointwise first: the 1x1 runs at the input size (9x6), the padded 3x3 at the output's.
    expect(node(g, "sepconv_1").macs).toBe(9 * 6 * (12 * 6) + 8 * 7 * (3 * 3 * 6));
    for (const n of ["maxpool", "avgpool", "zeropad"]) {
      expect(node(g, n).macs).toBe(0);
      expect(node(g, n).params).toEqual({ trainable: 0, nonTrainable: 0 });
    }
  });

  it("the IR with pads and zeropad is valid against the schema", () => {
    expect(validateIR(JSON.parse(JSON.stringify(g)))).toEqual([]);
  });

  it("without pad, the IR is as before: no pads key", () => {
    const plain = mustBuild(`network n {
  input 8x8x3
  conv 3x3/2 4
  maxpool 2x2
}`);
    expect(Object.keys(plain.nodes[1]!.attrs)).not.toContain("pads");
    expect(Object.keys(plain.nodes[2]!.attrs)).not.toContain("pads");
  });

  it("pad = 1 on a 3x3/2 conv of an even input has the same size as 'same', but other pixels", () => {
    const same = mustBuild(`network n {\n  input 16x16x3\n  conv 3x3/2 8\n}`).nodes[1]!;
    const pad = mustBuild(`network n {\n  input 16x16x3\n  conv 3x3/2 8 pad = 1\n}`).nodes[1]!;
    expect(pad.shape).toEqual(same.shape);
    // TensorFlow pads 'same' by 1 at the bottom/right only here; pad = 1 pads every side.
    expect(pad.attrs).toMatchObject({ pads: [1, 1, 1, 1] });
    expect(same.attrs).toMatchObject({ padding: "same" });
  });
});

describe("explicit padding: bad input", () => {
  it("pad beside padding", () => {
    const d = firstError(`network n {\n  input 8x8x3\n  conv 3x3 4 padding = same pad = 1\n}`);
    expect(d.code).toBe("E0305");
    expect(d.message).toBe("conv 'conv': give either pad or padding, not both");
    expect(d.span.start.line).toBe(3);
    expect(d.span.start.column).toBe(35);
    expect(d.hint).toMatch(/drop padding/);
  });

  it("a negative pad", () => {
    const d = firstError(`network n {\n  input 8x8x3\n  maxpool 3x3 pad = [1, -1]\n}`);
    expect(d.code).toBe("E0305");
    expect(d.message).toMatch(/pad must not be negative, not \[1, -1\]/);
    expect(d.span.start.column).toBe(21);
  });

  it("a list of the wrong length", () => {
    const d = firstError(`network n {\n  input 8x8x3\n  conv 3x3 4 pad = [1, 1, 1]\n}`);
    expect(d.code).toBe("E0303");
    expect(d.message).toBe("conv 'conv': pad takes 1, 2 or 4 numbers, not a list of 3");
    expect(d.hint).toMatch(/\[top, bottom, left, right\]/);
  });

  it("a pad that leaves no output", () => {
    const d = firstError(`network n {\n  input 2x8x3\n  conv 5x5 4 pad = [0, 1, 2, 2]\n}`);
    expect(d.code).toBe("E0401");
    expect(d.message).toMatch(/needs at least 5 rows, but its input has 2 and pad adds 1/);
    expect(d.hint).toMatch(/pad at least 3 rows/);
  });

  it("a pooling pad as large as the window", () => {
    const d = firstError(`network n {\n  input 8x8x3\n  maxpool 2x2 pad = [0, 2, 0, 0]\n}`);
    expect(d.code).toBe("E0305");
    expect(d.message).toMatch(/pad 2 at the bottom is not smaller than the 2x2 window/);
  });

  it("zeropad without a pad, or with a word", () => {
    expect(firstError(`network n {\n  input 8x8x3\n  zeropad\n}`).code).toBe("E0302");
    expect(firstError(`network n {\n  input 8x8x3\n  zeropad same\n}`).code).toBe("E0303");
    expect(firstError(`network n {\n  input 8x8x3\n  gap\n  zeropad 1\n}`).code).toBe("E0404");
  });
});

describe("explicit padding: any value is a graph or a located diagnostic", () => {
  const values = [
    "0",
    "-1",
    "1e9",
    "1e308",
    "999999999",
    "2x0",
    "0x0",
    "3x3/2",
    "[]",
    "[1]",
    "[1, 2, 3, 4, 5]",
    "[1.5, 1]",
    "[[1, 1], [1, 1]]",
    "[0, 0, 0, 0]",
    "same",
    "true",
    '"1"',
  ];
  const layers = [
    "conv 3x3 4 pad = V",
    "sepconv 3x3 4 pad = V",
    "maxpool 3x3 pad = V",
    "avgpool 2x2 pad = V",
    "zeropad V",
  ];
  it(`${values.length * layers.length} combinations`, () => {
    for (const layer of layers) {
      for (const v of values) {
        const text = `network n {\n  input 8x8x3\n  ${layer.replace("V", v)}\n}`;
        const r = buildText(text);
        if (r.graph) {
          expect(validateIR(JSON.parse(JSON.stringify(r.graph))), text).toEqual([]);
          continue;
        }
        expect(r.diagnostics.length, text).toBeGreaterThan(0);
        for (const d of r.diagnostics) {
          expect(d.span.start.line, `${text}: ${d.message}`).toBeGreaterThanOrEqual(1);
          expect(d.code, text).toMatch(/^E\d{4}$/);
        }
      }
    }
  });
});
