import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { DropPath, LayerScale } from "../../../compiler/backends/tfjs/residualBranch.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { compileSpec } from "../../../compiler/index.js";
import { gradientSizes } from "./gradients.js";

const repo = join(import.meta.dirname, "..", "..", "..");
const spec = join(repo, "test", "backends", "ts", "cases", "convnext.arch");

beforeAll(async () => {
  await initBackend("wasm");
});

describe("ConvNeXt's layers in the tfjs runtime", () => {
  it("DropPath is torchvision's row mode: whole examples dropped at rate, the rest scaled by 1 / (1 - rate)", () => {
    const n = 2000;
    const x = tf.ones([n, 2, 3, 4]);
    const layer = new DropPath({ rate: 0.25, seed: 7 });
    const y = layer.apply(x, { training: true }) as tf.Tensor;
    const rows = (y.reshape([n, 24]).arraySync() as number[][]).map((r) => new Set(r));
    // Every example is all zeros or all 1 / 0.75: one draw per example, not per value.
    for (const r of rows) expect([...r].length).toBe(1);
    const values = rows.map((r) => [...r][0]!);
    for (const v of values) expect([0, 1 / 0.75]).toContainEqual(expect.closeTo(v, 6));
    const dropped = values.filter((v) => v === 0).length / n;
    // 2000 draws at p = 0.25: the standard deviation of the fraction is about 0.01.
    expect(dropped).toBeGreaterThan(0.2);
    expect(dropped).toBeLessThan(0.3);
    // Seeded: the same seed draws the same examples; another seed others.
    const again = layer.apply(x, { training: true }) as tf.Tensor;
    expect(again.arraySync()).toEqual(y.arraySync());
    layer.seed = 8;
    const other = layer.apply(x, { training: true }) as tf.Tensor;
    expect(other.arraySync()).not.toEqual(y.arraySync());
    // Inference: the identity.
    const inference = layer.apply(x) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(inference, x))).dataSync()[0]).toBe(0);
    tf.dispose([x, y, again, other, inference]);
  });

  it("refuses a rate outside [0, 1) and a non-finite layer scale, naming the layer", () => {
    expect(() => new DropPath({ rate: 1, name: "d" })).toThrow(
      "DropPath 'd': rate must be in [0, 1), got 1",
    );
    expect(() => new LayerScale({ init: Number.NaN, name: "s" })).toThrow(
      "LayerScale 's': init must be a finite number, got NaN",
    );
  });

  it("layer norm, layer scale and droppath serialise: the model survives toJSON and modelFromJSON", async () => {
    const model = buildModelFromIR(compileSpec(spec));
    const json = model.toJSON(undefined, false) as never;
    const again = await tf.models.modelFromJSON({ modelTopology: json });
    const classes = (m: tf.LayersModel) => m.layers.map((l) => l.getClassName());
    expect(classes(again)).toEqual(classes(model));
    const count = (c: string) => classes(again).filter((k) => k === c).length;
    expect([count("LayerNormalization"), count("LayerScale"), count("DropPath")]).toEqual([
      7, 4, 4,
    ]);
    const drops = again.layers.filter((l) => l.getClassName() === "DropPath") as DropPath[];
    // Linear in the block's index over the network: 0.3 * k / 3.
    expect(drops.map((d) => d.rate)).toEqual([0, 0.1, 0.2, 0.3].map((r) => expect.closeTo(r, 12)));
    expect(model.countParams()).toBe(compileSpec(spec).totals.params.total);
    model.dispose();
    again.dispose();
  });

  it("trains on wasm: every layer norm, layer scale and the stem get gradients through GELU and droppath", () => {
    const model = buildModelFromIR(compileSpec(spec));
    const x = tf.randomNormal([8, 16, 16, 3], 0, 1, "float32", 1);
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 0, 1, 2], "int32"), 5);
    const { sizes: size, seen } = gradientSizes(model, x, labels);
    const names = [...size.keys()];
    const of = (suffix: string) => names.filter((n) => n.endsWith(suffix));
    expect(of("layernorm/gamma").length + of("layernorm_1/gamma").length, seen).toBe(7);
    expect(of("layerscale/gamma").length, seen).toBe(4);
    expect(size.get("conv/kernel"), seen).toBeGreaterThan(0);
    // droppath draws with the layer's seed (none here): a dropped block's branch gets no
    // gradient, so each weight is checked where its block ran; the stem, head and downsampling
    // always run.
    for (const n of [...of("/gamma"), ...of("/beta")].filter((n) => !n.includes("convnext_block")))
      expect(size.get(n), `${n}: ${seen}`).toBeGreaterThan(0);
    expect(
      of("layerscale/gamma").some((n) => size.get(n)! > 0),
      seen,
    ).toBe(true);
    tf.dispose([x, labels]);
    model.dispose();
  });
});
