import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildModelFromIR, ModelBuildError } from "../../../compiler/backends/tfjs/model.js";
import { planModel } from "../../../compiler/backends/tfjs/plan.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { buildModel, compileSpec, ArchcError } from "../../../compiler/index.js";
import { mustBuild } from "../../helpers.js";

const repo = join(import.meta.dirname, "..", "..", "..");

beforeAll(async () => {
  process.env["ARCHC_CACHE_DIR"] = join(repo, "test", ".generated", "cache");
  await initBackend("wasm");
});

describe("runtime backend: IR -> tfjs LayersModel", () => {
  it("Xception and Inception V3 have exactly the IR's parameter counts", () => {
    for (const [file, total] of [
      ["specs/xception.arch", 22_910_480],
      ["specs/inception_v3.arch", 23_851_784],
    ] as const) {
      const g = compileSpec(join(repo, file));
      const m = buildModelFromIR(g);
      expect(m.countParams()).toBe(total);
      m.dispose();
    }
  });

  it("every point of the continuum builds with the IR's parameter count, grouped layers in the middle", () => {
    for (const parts of ["regular", 2, 4, 8, "depthwise"]) {
      const g = compileSpec(join(repo, "specs", "xception.arch"), {
        args: { parts, size: 71, mid: "relu" },
      });
      const m = buildModelFromIR(g);
      expect(m.countParams(), String(parts)).toBe(g.totals.params.total);
      const grouped = m.layers.filter((l) => l.getClassName() === "GroupedConv2D").length;
      if (parts === "regular" || parts === "depthwise") expect(grouped, String(parts)).toBe(0);
      else expect(grouped, String(parts)).toBeGreaterThan(0);
      m.dispose();
    }
  });

  it("layer names are the spec's: block path plus layer", () => {
    const g = compileSpec(join(repo, "specs", "xception.arch"), { args: { size: 71, mid: "elu" } });
    const names = buildModelFromIR(g).layers.map((l) => l.name);
    expect(names).toContain("entry/sep_unit/sepconv/spatial");
    expect(names).toContain("entry/sep_unit/sepconv/mid");
    expect(names).toContain("entry/sep_unit/sepconv/pointwise");
    expect(names).toContain("middle_7/sep_unit_2/bn");
    const fused = buildModelFromIR(
      compileSpec(join(repo, "specs", "xception.arch"), { args: { size: 71 } }),
    ).layers.map((l) => l.name);
    expect(fused).toContain("entry/sep_unit/sepconv");
  });

  it("mid activation really sits between the spatial and pointwise steps", () => {
    const plan = planModel(mustBuild("network n {\n  input 8x8x4\n  sepconv 3x3 8 mid=relu\n}\n"));
    expect(plan.layers.map((l) => l.kind)).toEqual([
      "input",
      "depthwiseConv2d",
      "activation",
      "conv2d",
    ]);
    expect(plan.layers[2]!.inputs).toEqual([plan.layers[1]!.id]);
    // The naming contract: each layer says which node, and which part of it, it lowers.
    expect(plan.layers.map((l) => [l.node, l.role])).toEqual([
      ["input", "layer"],
      ["sepconv", "spatial"],
      ["sepconv", "mid"],
      ["sepconv", "pointwise"],
    ]);
  });

  it("pointwise-first sepconvs partition the filters, and leaky_relu's slope comes from the IR", () => {
    const g = mustBuild(
      "network n {\n  input 8x8x4\n  sepconv 3x3 12 parts=depthwise order=pointwise_first leaky_relu\n}\n",
    );
    const plan = planModel(g);
    const spatial = plan.layers.find((l) => l.role === "spatial")!;
    // depthwise over the 12 filters the pointwise step made, not over the 4 input channels
    expect(spatial.kind).toBe("depthwiseConv2d");
    expect(spatial.config["depthMultiplier"]).toBe(1);
    const leaky = plan.layers.find((l) => l.kind === "leakyReLU")!;
    expect(leaky).toMatchObject({ node: "sepconv", role: "act", config: { alpha: 0.3 } });
    const changed = planModel({
      ...g,
      activations: { ...g.activations, leaky_relu: { alpha: 0.1 } },
    });
    expect(changed.layers.find((l) => l.kind === "leakyReLU")!.config["alpha"]).toBe(0.1);
  });

  it("outputs of the tiny example run and have the network's output shape", () => {
    const g = mustBuild(
      "network n {\n  input 16x16x4\n  conv 3x3 8 parts=2 -> bn -> relu\n  sepconv 3x3 8 parts=4 mid=elu\n  gap -> dense 3 softmax\n}\n",
    );
    const m = buildModelFromIR(g);
    const y = m.predict(tf.randomNormal([2, 16, 16, 4])) as tf.Tensor;
    expect(y.shape).toEqual([2, 3]);
    const sums = y.sum(1).arraySync() as number[];
    for (const s of sums) expect(s).toBeCloseTo(1, 5);
  });

  it("the package API builds from a spec path and reports spec errors as diagnostics", async () => {
    const m = await buildModel(join(repo, "examples", "tiny.arch"), { backend: "wasm" });
    expect(m.countParams()).toBe(5770);
    await expect(
      buildModel(join(repo, "specs", "xception.arch"), { args: { parts: 5 } }),
    ).rejects.toThrow(ArchcError);
    await expect(
      buildModel(join(repo, "specs", "xception.arch"), { args: { parts: 5 } }),
    ).rejects.toThrow(/E0400.*parts = 5/);
  });

  it("a layer tfjs refuses is reported with its name and the backend", () => {
    const g = mustBuild("network n {\n  input 8x8x4\n  conv 3x3 8\n}\n");
    const bad = {
      ...g,
      nodes: g.nodes.map((n) =>
        n.op === "conv" ? { ...n, attrs: { ...n.attrs, padding: "full" } } : n,
      ),
    } as typeof g;
    expect(() => buildModelFromIR(bad)).toThrow(ModelBuildError);
    expect(() => buildModelFromIR(bad)).toThrow(/layer 'conv' on the wasm backend/);
  });
});
