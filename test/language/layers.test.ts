import { describe, expect, it } from "vitest";
import { buildText, mustBuild } from "../helpers.js";

/** One layer after an input of the given shape; returns its IR node. */
function layer(input: string, stmt: string) {
  const g = mustBuild(`network t {\n  input ${input}\n  ${stmt}\n}\n`);
  return g.nodes[g.nodes.length - 1]!;
}

describe("conv: shapes, params and MACs by hand", () => {
  it("regular 3x3 'same' keeps the size and counts k*k*cin*cout + bias", () => {
    const n = layer("32x32x16", "conv 3x3 32");
    expect(n.shape).toEqual([32, 32, 32]);
    expect(n.params).toEqual({ trainable: 3 * 3 * 16 * 32 + 32, nonTrainable: 0 });
    expect(n.macs).toBe(32 * 32 * 3 * 3 * 16 * 32);
  });

  it("stride 2 'same' is ceil(in / 2), with TensorFlow's rule on odd sizes", () => {
    expect(layer("15x15x8", "conv 3x3/2 8").shape).toEqual([8, 8, 8]);
    expect(layer("299x299x3", "conv 3x3/2 32 valid").shape).toEqual([149, 149, 32]);
  });

  it("'valid' is ceil((in - k + 1) / s)", () => {
    expect(layer("10x12x4", "conv 5x3 4 valid").shape).toEqual([6, 10, 4]);
    expect(layer("10x10x4", "conv 3x3 4 valid stride=3").shape).toEqual([3, 3, 4]);
  });

  it("dilation widens the window: (k - 1) * d + 1", () => {
    expect(layer("10x10x4", "conv 3x3 4 valid dilation=2").shape).toEqual([6, 6, 4]);
  });

  it("parts divides the weights and MACs by the partition count", () => {
    const n = layer("8x8x12", "conv 3x3 24 parts=4 bias=false");
    expect(n.params.trainable).toBe(3 * 3 * (12 / 4) * 24);
    expect(n.macs).toBe(8 * 8 * 3 * 3 * 3 * 24);
    expect(n.op === "conv" && n.attrs.groups).toBe(4);
  });

  it("depthwise and regular are the ends of the continuum; width is channels per segment", () => {
    const dw = layer("8x8x12", "conv 3x3 parts=depthwise bias=false");
    expect(dw.params.trainable).toBe(3 * 3 * 12);
    expect(dw.op === "conv" && dw.attrs.groups).toBe(12);
    const reg = layer("8x8x12", "conv 3x3 parts=regular bias=false");
    expect(reg.op === "conv" && reg.attrs.groups).toBe(1);
    const w = layer("8x8x12", "conv 3x3 12 width=4 bias=false");
    expect(w.op === "conv" && w.attrs.groups).toBe(3);
  });

  it("filters default to the input channels", () => {
    expect(layer("4x4x7", "conv 1x1").shape).toEqual([4, 4, 7]);
  });
});

describe("sepconv", () => {
  it("spatial-first: k*k*cin/parts*cin + cin*filters (+ bias)", () => {
    const n = layer("19x19x728", "sepconv 3x3 728 bias=false");
    expect(n.params.trainable).toBe(9 * 728 + 728 * 728);
    expect(n.macs).toBe(19 * 19 * (9 * 728 + 728 * 728));
    const p4 = layer("19x19x728", "sepconv 3x3 728 parts=4 bias=false");
    expect(p4.params.trainable).toBe(9 * 182 * 728 + 728 * 728);
  });

  it("pointwise-first runs the 1x1 at input resolution and the spatial step on the filters", () => {
    const n = layer("10x10x16", "sepconv 3x3/2 32 order=pointwise_first parts=4 bias=false");
    expect(n.shape).toEqual([5, 5, 32]);
    expect(n.params.trainable).toBe(16 * 32 + 9 * (32 / 4) * 32);
    expect(n.macs).toBe(10 * 10 * 16 * 32 + 5 * 5 * 9 * 8 * 32);
  });

  it("a multiplier widens the spatial step", () => {
    const n = layer("8x8x4", "sepconv 3x3 8 multiplier=2");
    expect(n.params.trainable).toBe(9 * 4 * 2 + 8 * 8 + 8);
  });

  it("mid and order are kept in the IR", () => {
    const n = layer("8x8x4", "sepconv 3x3 8 mid=elu");
    expect(n.op === "sepconv" && n.attrs.mid).toBe("elu");
  });
});

describe("other layers", () => {
  it("bn: 2 trainable and 2 non-trainable per channel; scale=false drops gamma", () => {
    expect(layer("4x4x10", "bn").params).toEqual({ trainable: 20, nonTrainable: 20 });
    expect(layer("4x4x10", "bn scale=false").params).toEqual({ trainable: 10, nonTrainable: 20 });
    expect(layer("4x4x10", "bn scale=false center=false").params).toEqual({
      trainable: 0,
      nonTrainable: 20,
    });
  });

  it("pooling defaults to stride = window and 'valid', as Keras", () => {
    expect(layer("9x9x3", "maxpool").shape).toEqual([4, 4, 3]);
    expect(layer("9x9x3", "maxpool 3x3/2 same").shape).toEqual([5, 5, 3]);
    expect(layer("9x9x3", "avgpool 3x3 stride=1").shape).toEqual([7, 7, 3]);
  });

  it("gap, gmp and flatten make vectors; dense counts in*units + units", () => {
    expect(layer("7x7x64", "gap").shape).toEqual([64]);
    expect(layer("7x7x64", "gmp").shape).toEqual([64]);
    expect(layer("2x3x4", "flatten").shape).toEqual([24]);
    const g = mustBuild("network t {\n  input 7x7x64\n  gap -> dense 10 softmax\n}\n");
    const d = g.nodes[2]!;
    expect(d.params.trainable).toBe(64 * 10 + 10);
    expect(d.macs).toBe(640);
    expect(d.op === "dense" && d.attrs.activation).toBe("softmax");
  });

  it("activations, dropout: no parameters, same shape; act(none) is no layer at all", () => {
    const g = mustBuild(
      "network t {\n  input 4x4x2\n  relu -> elu -> act(none) -> dropout 0.3\n}\n",
    );
    expect(g.nodes.map((n) => n.op)).toEqual(["input", "act", "act", "dropout"]);
    expect(g.totals.params.total).toBe(0);
  });

  it("concat sums channels, add keeps the shape", () => {
    const g = mustBuild(
      "network t {\n  input 8x8x4\n  concat {\n    branch { conv 1x1 3 }\n    branch { conv 3x3 5 }\n    branch {}\n  }\n  add {\n    branch { conv 1x1 12 }\n    branch {}\n  }\n}\n",
    );
    const concat = g.nodes.find((n) => n.op === "concat")!;
    expect(concat.shape).toEqual([8, 8, 12]);
    expect(concat.inputs).toHaveLength(3);
    expect(g.nodes[g.output]!.shape).toEqual([8, 8, 12]);
  });

  it("residual with a projection shortcut adds the projection's output", () => {
    const g = mustBuild(
      "network t {\n  input 8x8x4\n  residual {\n    conv 3x3/2 8\n  } shortcut {\n    conv 1x1/2 8\n  }\n}\n",
    );
    const add = g.nodes[g.output]!;
    expect(add.op).toBe("add");
    expect(add.shape).toEqual([4, 4, 8]);
    expect(add.inputs.map((i) => g.nodes[i]!.name)).toEqual(["conv", "conv_1"]);
  });

  it("residual enabled=false is the body alone", () => {
    const g = mustBuild(
      "network t(r = false) {\n  input 8x8x4\n  residual enabled=r {\n    relu\n  }\n}\n",
    );
    expect(g.nodes.map((n) => n.op)).toEqual(["input", "act"]);
  });
});

describe("blocks, repeat, expressions", () => {
  it("blocks name their layers by instance; defaults may use earlier params and `in`", () => {
    const g = mustBuild(
      "block b(f = in * 2, g = f + 1) {\n  conv 1x1 f -> conv 1x1 g\n}\nnetwork t {\n  input 4x4x3\n  b() -> b(f = 4)\n}\n",
    );
    expect(g.nodes.map((n) => `${n.name}:${n.shape[2]}`)).toEqual([
      "input:3",
      "b/conv:6",
      "b/conv_1:7",
      "b_1/conv:4",
      "b_1/conv_1:5",
    ]);
  });

  it("repeat unrolls with an index; if chooses a branch", () => {
    const g = mustBuild(
      "network t(deep = true) {\n  input 4x4x1\n  repeat 3 as i {\n    conv 1x1 (i + 1) * 2\n  }\n  if deep { relu } else { elu }\n}\n",
    );
    expect(g.nodes.slice(1, 4).map((n) => n.shape[2])).toEqual([2, 4, 6]);
    expect(g.nodes[4]!.op === "act" && g.nodes[4]!.attrs.activation).toBe("relu");
  });

  it("arithmetic: exact / stays an integer, // floors, ternaries and comparisons", () => {
    const g = mustBuild(
      "network t(n = 10) {\n  input 4x4x1\n  let m = n > 5 ? n // 3 : 1\n  conv 1x1 (m * 4 / 2) -> dense_free\n}\nblock dense_free() { relu }\n",
    );
    expect(g.nodes[1]!.shape[2]).toBe(6);
  });

  it("--set overrides network arguments with expressions", () => {
    const g = mustBuild("network t(c = 4) {\n  input 4x4x8\n  conv 1x1 c\n}\n", ["c=2*3"]);
    expect(g.nodes[1]!.shape[2]).toBe(6);
    expect(g.args).toEqual({ c: 6 });
  });

  it("a missing network argument is reported, not guessed", () => {
    const r = buildText("network t(c) {\n  input 4x4x8\n  conv 1x1 c\n}\n");
    expect(r.diagnostics[0]?.code).toBe("E0302");
  });
});
