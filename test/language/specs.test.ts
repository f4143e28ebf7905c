import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  experimentVariants,
  trainConfigNameFor,
} from "../../compiler/language/config/experiment.js";
import { checkProgram, loadProgram } from "../../compiler/language/program.js";
import { buildFile, mustBuildFile as build } from "../helpers.js";

const repo = join(import.meta.dirname, "..", "..");
const spec = (f: string) => join(repo, "specs", f);

describe("the spec library", () => {
  it("archc check passes on every file in specs/ and stdlib/", () => {
    for (const dir of ["specs", "stdlib"]) {
      for (const f of readdirSync(join(repo, dir)).filter((f) => f.endsWith(".arch"))) {
        expect(checkProgram(loadProgram(join(repo, dir, f))), `${dir}/${f}`).toEqual([]);
      }
    }
  });

  it("Xception: 22,910,480 total and 22,855,952 trainable params; 8.36 G MACs within 0.5%", () => {
    const g = build(spec("xception.arch"), "xception");
    expect(g.totals.params.total).toBe(22_910_480);
    expect(g.totals.params.trainable).toBe(22_855_952);
    expect(Math.abs(g.totals.macs - 8.36e9) / 8.36e9).toBeLessThan(0.005);
  });

  it("Inception V3: 23,851,784 total and 23,817,352 trainable params; about 5.71 G MACs", () => {
    const g = build(spec("inception_v3.arch"), "inception_v3");
    expect(g.totals.params.total).toBe(23_851_784);
    expect(g.totals.params.trainable).toBe(23_817_352);
    expect(Math.abs(g.totals.macs - 5.71e9) / 5.71e9).toBeLessThan(0.01);
    expect(g.nodes.filter((n) => n.op === "concat")).toHaveLength(11 + 4);
  });

  it("Xception moves along the continuum: params and MACs fall as parts rises", () => {
    const points = ["regular", "2", "4", "8", "depthwise"].map(
      (p) => build(spec("xception.arch"), "xception", [`parts=${p}`]).totals,
    );
    for (let i = 1; i < points.length; i++) {
      expect(points[i]!.params.total).toBeLessThan(points[i - 1]!.params.total);
      expect(points[i]!.macs).toBeLessThan(points[i - 1]!.macs);
    }
    expect(points[points.length - 1]!.params.total).toBe(22_910_480);
  });

  it("a parts value that divides no layer names the layer and the nearest valid values", () => {
    const r = buildFile(spec("xception.arch"), "xception", ["parts=3"]);
    expect(r.graph).toBeUndefined();
    const d = r.diagnostics[0];
    expect(d?.code).toBe("E0400");
    expect(d?.message).toMatch(
      /entry\/sep_unit\/sepconv.*64 input channels are not divisible by parts = 3/,
    );
    expect(d?.hint).toMatch(/nearest valid values are 2 and 4/);
  });

  it("fc adds Table 2's two 4096-unit layers; residual = false drops the projection shortcuts", () => {
    const base = build(spec("xception.arch"), "xception").totals.params.total;
    const fc = build(spec("xception.arch"), "xception", ["fc=true"]).totals.params.total;
    expect(fc - base).toBe(2048 * 4096 + 4096 + 4096 * 4096 + 4096 + (4096 - 2048) * 1000);
    const plain = build(spec("xception.arch"), "xception", ["residual=false"]);
    expect(plain.nodes.some((n) => n.op === "add")).toBe(false);
    // Four 1x1 projections (64->128, 128->256, 256->728, 728->1024) and their batch norms.
    const shortcuts = 64 * 128 + 128 * 256 + 256 * 728 + 728 * 1024 + 4 * (128 + 256 + 728 + 1024);
    expect(base - plain.totals.params.total).toBe(shortcuts);
  });

  it("the continuum module: Figure 3 equals Figure 2; parameters fall from regular to depthwise", () => {
    const f = spec("continuum.arch");
    expect(build(f, "fig3_reformulated").totals).toEqual(build(f, "fig2_simplified").totals);
    const parts = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 192];
    const totals = parts.map((p) => build(f, "continuum", [`parts=${p}`]).totals.params.trainable);
    for (let i = 1; i < totals.length; i++) expect(totals[i]!).toBeLessThan(totals[i - 1]!);
    // Spatial step 9 * 192 * 192 / parts, pointwise 256 * 192 (pointwise first), two batch norms' betas and gammas.
    expect(totals[0]).toBe(256 * 192 + 9 * 192 * 192 + 2 * 192);
  });

  it("experiments expand to one model per compared network and sweep point", () => {
    const p = loadProgram(spec("experiments.arch"));
    expect(p.diagnostics).toEqual([]);
    const sweep = p.experiments.get("partition_sweep")!;
    expect(experimentVariants(sweep).map((v) => v.label)).toEqual([
      "xception(parts = 1)",
      "xception(parts = 2)",
      "xception(parts = 4)",
      "xception(parts = 8)",
      "xception(parts = depthwise)",
    ]);
    expect(p.experiments.get("table1_imagenet")!.train).toEqual([
      "imagenet_xception",
      "imagenet_inception",
    ]);
    expect(p.trains.get("jft_rmsprop")).toMatchObject({
      optimizer: { kind: "rmsprop", momentum: 0.9, lr: 0.001 },
      schedule: { kind: "exponential", rate: 0.9, every: { amount: 3_000_000, unit: "samples" } },
      dropout: 0,
    });
    expect(p.trains.get("imagenet_inception")).toMatchObject({ weightDecay: 4e-5, dropout: 0.5 });
    for (const name of ["imagenet_xception", "imagenet_inception"])
      expect(p.trains.get(name)).toMatchObject({
        augment: { kind: "inception", scale: [0.08, 1], ratio: [0.75, 4 / 3], flip: true },
        evalCrop: 0.875,
      });
    expect(checkProgram(p)).toEqual([]);
  });
});
