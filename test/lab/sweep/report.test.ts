import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../helpers.js";

const repo = join(import.meta.dirname, "..", "..", "..");
const tiny = join(repo, "examples", "tiny.arch");

beforeAll(() => {
  process.env["ARCHC_CACHE_DIR"] = join(repo, "test", ".generated", "cache");
  process.env["ARCHC_GROUPED_STRATEGY"] = "split";
});

describe("sweeps that read like a paper", () => {
  it("--seeds: rows per seed, a summary with mean and spread, error bars, a labelled depthwise tick, Pareto plots, PNG", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-report-"));
    const common = [
      "sweep",
      tiny,
      "--sweep",
      "parts=1,depthwise",
      "--measure",
      "params,macs,train",
      "--data",
      "synthetic:16",
      "--epochs",
      "1",
      "--batch",
      "8",
      "--seeds",
      "2",
      "--backend",
      "wasm",
      "--out",
      join(dir, "s"),
      "--quiet",
    ];
    const svgPath = join(dir, "p.svg");
    const r = await runCli(...common, "--json", "--plot", svgPath);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as {
      results: { variant: string; seed: number; train: { valAccuracy: number } }[];
      summary: {
        variant: string;
        seeds: number[];
        train: { valAccuracy: number };
        spread: { valAccuracy: number };
      }[];
      report: {
        file: string;
        pareto: { cost: string; points: { configuration: string }[] }[];
        effects: { axis: string; value: string }[];
      };
    };
    expect(out.results.map((x) => [x.variant, x.seed])).toEqual([
      ["tiny(parts = 1)", 0],
      ["tiny(parts = 1)", 1],
      ["tiny(parts = depthwise)", 0],
      ["tiny(parts = depthwise)", 1],
    ]);
    // The report of the folder comes with the rows: effects of both values of the axis.
    expect(out.report.file).toBe(join(dir, "s", "results.jsonl"));
    expect(out.report.effects.map((e) => `${e.axis}=${e.value}`)).toEqual([
      "parts=1",
      "parts=depthwise",
    ]);
    expect(out.report.pareto.map((p) => p.cost)).toEqual(["macs", "params"]);
    const [a, b] = out.results.map((x) => x.train.valAccuracy);
    expect(out.summary[0]!.seeds).toEqual([0, 1]);
    expect(out.summary[0]!.train.valAccuracy).toBeCloseTo((a! + b!) / 2, 10);
    expect(out.summary[0]!.spread.valAccuracy).toBeCloseTo(Math.abs(a! - b!) / Math.SQRT2, 10);
    const svg = readFileSync(svgPath, "utf8");
    // Depthwise sits at its largest group count (the residual sepconv's 32 channels), on a
    // tick that says so.
    expect(svg.includes(">depthwise (32)</text>")).toBe(true);
    expect(svg.includes("val accuracy against MACs per example")).toBe(true);
    expect(svg.includes("val accuracy against parameters")).toBe(true);
    // Error bars: one rule per variant in each trained chart.
    expect(svg.match(/aria-roledescription="rule mark"/g)!.length).toBeGreaterThanOrEqual(4);
    // Everything cached now; the table shows mean ± sd and the number of seeds.
    const table = await runCli(...common, "--plot", join(dir, "p.png"));
    expect(table.stdout).toMatch(/val accuracy/);
    expect(table.stdout).toMatch(/\d\.\d{4} ± \d\.\d{4}/);
    expect(table.stdout.split("\n")[2]).toMatch(/ 2 +yes$/);
    // The sweep ends with the report's analysis (its table was printed already).
    expect(table.stdout).toMatch(/Pareto front: val accuracy against MACs/);
    expect(table.stdout).toMatch(/Main effects on val accuracy/);
    const png = readFileSync(join(dir, "p.png"));
    expect(png.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
  });
});
