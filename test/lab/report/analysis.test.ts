import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { analyse, noiseSentence, type AxisEffect } from "../../../compiler/lab/report/analyse.js";
import { mainEffect, estimateNeeded } from "../../../compiler/lab/report/effects.js";
import { edfAt, edf } from "../../../compiler/lab/report/edf.js";
import { loadResults } from "../../../compiler/lab/report/load.js";
import { Random } from "../../../compiler/lab/train/data/random.js";

const fixture = join(import.meta.dirname, "fixtures", "stages");
const DW = "depthwise";

/**
 * The fixture (fixtures/stages/results.jsonl): three stages p1, p2, p3, each 1 or depthwise,
 * two seeds. Val accuracy of a configuration is 0.80 + 0.004 [p1 = dw] - 0.10 [p2 = dw]
 * - 0.002 [p3 = dw], plus 0.01 on seed 0 and minus 0.01 on seed 1; MACs are
 * 30 M - 8 M [p1] - 10 M [p2] - 6 M [p3], params 100 k - 20 k [p1] - 30 k [p2] - 40 k [p3].
 */
function loadFixture() {
  const loaded = loadResults(fixture);
  if (!loaded.ok) throw new Error(loaded.message);
  return analyse(loaded.file, loaded.rows, { samples: 2000, seed: 0 }).report;
}

const label = (p1: number, p2: number, p3: number) =>
  [p1, p2, p3].map((x, i) => `p${i + 1}=${x ? DW : 1}`).join(", ");

describe("archc report: the analysis of a fixture with known accuracies", () => {
  const report = loadFixture();

  it("averages seeds per configuration and adds accuracy per M MACs and per M params", () => {
    expect(report.metric).toEqual({ id: "val_accuracy", title: "val accuracy" });
    expect(report.axes).toEqual(["p1", "p2", "p3"]);
    expect(report.rows).toHaveLength(8);
    const r = report.rows.find((x) => x["configuration"] === label(1, 0, 1))!;
    // 0.80 + 0.004 - 0.002, seeds +-0.01 averaged away; 16 M MACs, 40 k params.
    expect(r["val_accuracy"]).toBeCloseTo(0.802, 12);
    expect(r["val_accuracy_sd"]).toBeCloseTo(0.01 * Math.SQRT2, 12);
    expect(r["seeds"]).toBe(2);
    expect(r["val_accuracy_per_mmac"]).toBeCloseTo(0.802 / 16, 12);
    expect(r["val_accuracy_per_mparam"]).toBeCloseTo(0.802 / 0.04, 12);
    expect(report.columns.map((c) => c.title)).toContain("val accuracy per M MACs");
  });

  it("the Pareto fronts are the ones worked out by hand, each point labelled with every axis", () => {
    // By MACs (M): 111 at 6 (0.702), 110 at 12 (0.704), 101 at 16 (0.802), 100 at 22 (0.804);
    // 011 (14, 0.698), 010 (20, 0.700), 001 (24, 0.798) and 000 (30, 0.800) are beaten.
    const macs = report.pareto.find((p) => p.cost === "macs")!;
    expect(macs.points.map((p) => p.configuration)).toEqual([
      label(1, 1, 1),
      label(1, 1, 0),
      label(1, 0, 1),
      label(1, 0, 0),
    ]);
    expect(macs.points.map((p) => p.cost)).toEqual([6e6, 12e6, 16e6, 22e6]);
    expect(macs.points.map((p) => p.accuracy.toFixed(6))).toEqual([
      "0.702000",
      "0.704000",
      "0.802000",
      "0.804000",
    ]);
    // By params (k): 111 at 10 (0.702), 101 at 40 (0.802), 100 at 80 (0.804).
    const params = report.pareto.find((p) => p.cost === "params")!;
    expect(params.points.map((p) => p.configuration)).toEqual([
      label(1, 1, 1),
      label(1, 0, 1),
      label(1, 0, 0),
    ]);
    // No latency was measured: no front for it.
    expect(report.pareto.map((p) => p.cost)).toEqual(["macs", "params"]);
  });

  it("with latency measured, a third front: accuracy against latency", () => {
    const loaded = loadResults(fixture);
    if (!loaded.ok) throw new Error(loaded.message);
    // Latency in ms = params / 10,000: the same order as params, so the same front.
    const rows = loaded.rows.map((r) => ({
      ...r,
      latency: {
        backend: "wasm",
        batch: 1,
        medianMs: r.params! / 1e4,
        minMs: 0,
        maxMs: 0,
        runs: 1,
      },
    }));
    const withLatency = analyse("x", rows).report;
    expect(withLatency.pareto.map((p) => p.cost)).toEqual(["macs", "params", "latency_ms"]);
    expect(withLatency.pareto[2]!.points.map((p) => p.configuration)).toEqual([
      label(1, 1, 1),
      label(1, 0, 1),
      label(1, 0, 0),
    ]);
    expect(withLatency.pareto[2]!.points.map((p) => p.cost)).toEqual([1, 4, 8]);
  });

  it("a seed measured again with other settings is not a second seed, and the mix is said", () => {
    const loaded = loadResults(fixture);
    if (!loaded.ok) throw new Error(loaded.message);
    const id = (epochs: number) => ({ network: "stages", train: { epochs }, seed: 0 });
    const rows = loaded.rows.map((r) => ({ ...r, identity: id(3) }));
    // The first configuration's seed 0 again, trained for 5 epochs: another key, same seed.
    const again = {
      ...rows[0]!,
      key: "other",
      identity: id(5),
      train: { ...rows[0]!.train!, valAccuracy: 0.5 },
    };
    const r = analyse("x", [...rows, again]).report;
    const first = r.rows.find((x) => x["configuration"] === label(0, 0, 0))!;
    expect(first["seeds"]).toBe(2);
    expect(first["val_accuracy"]).toBeCloseTo((0.5 + 0.79) / 2, 12);
    expect(r.notes.join("\n")).toMatch(/1 row\(s\) measured a configuration and seed again/);
    expect(r.notes.join("\n")).toMatch(
      /train\.epochs is 3 for stages\(p1 = 1, p2 = 1, p3 = 1\) but 5 for/,
    );
    expect(analyse("x", rows).report.notes).toEqual([]);
  });

  it("the EDF of each axis value holds the errors of the configurations that have it", () => {
    const p2dw = report.edf.find((e) => e.axis === "p2" && e.value === DW)!;
    // 1 - (0.70 + {0, 0.004} + {0, -0.002}).
    expect(p2dw.errors.map((e) => e.toFixed(6))).toEqual([
      "0.296000",
      "0.298000",
      "0.300000",
      "0.302000",
    ]);
    expect(edfAt(edf(p2dw.errors), 0.299)).toBe(0.5);
    const p2one = report.edf.find((e) => e.axis === "p2" && e.value === "1")!;
    expect(p2one.errors.map((e) => e.toFixed(6))).toEqual([
      "0.196000",
      "0.198000",
      "0.200000",
      "0.202000",
    ]);
    expect(report.edf).toHaveLength(6);
  });

  it("main effects equal the differences built into the fixture", () => {
    const effect = (axis: string, value: string) =>
      report.effects.find((e) => e.axis === axis && e.value === value)!;
    expect(effect("p1", DW).effect).toBeCloseTo(0.004, 12);
    expect(effect("p1", "1").effect).toBeCloseTo(-0.004, 12);
    expect(effect("p2", DW).effect).toBeCloseTo(-0.1, 12);
    expect(effect("p3", DW).effect).toBeCloseTo(-0.002, 12);
    expect(effect("p2", DW).mean).toBeCloseTo(0.701, 12);
    expect(effect("p2", DW).othersMean).toBeCloseTo(0.801, 12);
    // p2 stands clear of the noise; p1 and p3 do not (the configurations with either value
    // differ by p2's 0.10 among themselves).
    expect(effect("p2", DW).clear).toBe(true);
    expect(effect("p2", DW).hi).toBeLessThan(0);
    expect(effect("p2", DW).lo).toBeLessThan(-0.1);
    expect(effect("p1", DW).clear).toBe(false);
    expect(effect("p1", DW).lo).toBeLessThan(0.004);
    expect(effect("p1", DW).hi).toBeGreaterThan(0.004);
    expect(effect("p3", DW).clear).toBe(false);
  });

  it("the noise sentence is said for p1 and p3, whose effects lie inside the noise, and not for p2", () => {
    expect(report.noise.map((s) => s.split(":")[0])).toEqual(["p1", "p3"]);
    expect(report.noise[0]).toMatch(/^p1: the differences lie inside the noise/);
    expect(report.noise[0]).toMatch(
      /would take about \d+ (seeds per configuration|configurations per value)/,
    );
  });
});

describe("the bootstrap", () => {
  const normal = (rng: Random) =>
    Math.sqrt(-2 * Math.log(1 - rng.float())) * Math.cos(2 * Math.PI * rng.float());

  /** Configurations of one value: accuracy 0.8 + effect + configuration noise + seed noise. */
  function sample(rng: Random, effect: number, configs: number, seeds: number): number[][] {
    return Array.from({ length: configs }, () => {
      const c = 0.8 + effect + 0.01 * normal(rng);
      return Array.from({ length: seeds }, () => c + 0.01 * normal(rng));
    });
  }

  it("is reproducible from its seed, and another seed gives another interval", () => {
    const rng = new Random(7);
    const a = sample(rng, 0.02, 6, 2);
    const b = sample(rng, 0, 6, 2);
    const one = mainEffect(a, b, { samples: 500, seed: 3 }, 0, 1);
    expect(mainEffect(a, b, { samples: 500, seed: 3 }, 0, 1)).toEqual(one);
    const other = mainEffect(a, b, { samples: 500, seed: 4 }, 0, 1);
    expect(other.effect).toBe(one.effect);
    expect([other.lo, other.hi]).not.toEqual([one.lo, one.hi]);
  });

  it("its 95% interval covers the true effect in about 95% of synthetic samples, and is not vacuous", () => {
    const rng = new Random(11);
    const trials = 200;
    let covered = 0;
    let width = 0;
    for (let t = 0; t < trials; t++) {
      const e = mainEffect(sample(rng, 0.03, 12, 3), sample(rng, 0, 12, 3), {
        samples: 400,
        seed: t,
      });
      if (e.lo <= 0.03 && 0.03 <= e.hi) covered++;
      width += (e.hi - e.lo) / trials;
    }
    expect(covered / trials).toBeGreaterThanOrEqual(0.9);
    // The standard error is about sqrt(2 (0.01^2 + 0.01^2 / 3) / 12) = 0.0047: a 95% interval
    // is near 4 of them wide, far narrower than the effect's scale.
    expect(width).toBeLessThan(0.03);
    expect(width).toBeGreaterThan(0.01);
  });

  it("one measurement per side gives no interval to trust: the noise is unknown", () => {
    const e = mainEffect([[0.8]], [[0.7]], { samples: 100, seed: 0 });
    expect(e.noiseKnown).toBe(false);
    expect(e.clear).toBe(false);
  });
});

describe("how many seeds would separate an effect", () => {
  it("with only seed noise (one configuration a side), worked out by hand", () => {
    // Seeds 0.81, 0.79 and 0.80, 0.78: W = 0.0002, so SE(k)^2 = 2 W / k = 0.0004 / k, and the
    // units are the k seeds. k must satisfy (c(k) + 0.8416) * 0.02 / sqrt(k) <= 0.01 with
    // c(k) = sqrt(k / (k - 1)) t(0.975, k - 1): at k = 34, t = 2.0345 gives 2.0651 + 0.8416,
    // times 2, squared: 33.80 <= 34; at k = 33, t = 2.0369 gives 33.87 > 33.
    expect(estimateNeeded([[0.81, 0.79]], [[0.8, 0.78]], 0.01)).toEqual({ seeds: 34 });
  });

  it("when configurations differ among themselves more than the effect, seeds alone cannot", () => {
    const n = estimateNeeded(
      [
        [0.9, 0.9001],
        [0.7, 0.7001],
      ],
      [
        [0.89, 0.8901],
        [0.69, 0.6901],
      ],
      0.01,
    );
    expect(n.seeds).toBeUndefined();
    expect(n.configurations).toBeGreaterThan(2);
  });

  it("no sentence when a value of the axis is clear", () => {
    const base: AxisEffect = {
      axis: "p",
      value: "1",
      configurations: 2,
      seeds: 4,
      effect: 0.1,
      mean: 0.9,
      othersMean: 0.8,
      lo: 0.05,
      hi: 0.15,
      clear: true,
      noiseKnown: true,
    };
    expect(
      noiseSentence("p", [base, { ...base, value: "2", effect: -0.1, lo: -0.15, hi: -0.05 }]),
    ).toBeUndefined();
    expect(
      noiseSentence("p", [{ ...base, clear: false, lo: -0.01, needed: { seeds: 9 } }]),
    ).toMatch(/inside the noise.*about 9 seeds per configuration/);
  });
});
