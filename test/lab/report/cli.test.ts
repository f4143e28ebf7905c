import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { expectGolden } from "../../golden.js";
import { runCli } from "../../helpers.js";

const repo = join(import.meta.dirname, "..", "..", "..");
const fixture = relative(process.cwd(), join(import.meta.dirname, "fixtures", "stages"));
const golden = join(repo, "test", "golden", "report", "stages.json");

function folderWith(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "archc-report-"));
  writeFileSync(join(dir, "results.jsonl"), text);
  return dir;
}

describe("archc report", () => {
  it("prints the table, the Pareto fronts, EDFs, effects and the noise sentences", async () => {
    const r = await runCli("report", fixture);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/8 configurations × 2 seeds; analysis of val accuracy$/m);
    expect(r.stdout).toMatch(/val accuracy per M MACs/);
    expect(r.stdout).toMatch(/Pareto front: val accuracy against MACs \(4 of 8 configurations\)/);
    expect(r.stdout).toMatch(/6\.00 M +0\.7020 +p1=depthwise, p2=depthwise, p3=depthwise/);
    expect(r.stdout).toMatch(/p2=depthwise +4 +8 +0\.7010 +−0\.1000 .* clear/);
    expect(r.stdout).toMatch(/^p1: the differences lie inside the noise/m);
  });

  it("--json is stable: the same bytes on every run, equal to the golden file", async () => {
    const a = await runCli("report", fixture, "--json");
    const b = await runCli("report", fixture, "--json");
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expectGolden(golden, a.stdout.replaceAll(fixture, "FIXTURE"));
    // Another bootstrap seed moves the intervals, and nothing else.
    const c = JSON.parse((await runCli("report", fixture, "--json", "--seed", "1")).stdout);
    const j = JSON.parse(a.stdout);
    expect(c.rows).toEqual(j.rows);
    expect(c.effects[0].lo).not.toBe(j.effects[0].lo);
  });

  it("--sort orders by any column, by id or heading, descending unless --ascending", async () => {
    const rows = async (...args: string[]) =>
      (
        JSON.parse((await runCli("report", fixture, "--json", ...args)).stdout) as {
          rows: { configuration: string; macs: number; val_accuracy: number }[];
        }
      ).rows;
    const byMacs = await rows("--sort", "macs", "--ascending");
    expect(byMacs.map((r) => r.macs / 1e6)).toEqual([6, 12, 14, 16, 20, 22, 24, 30]);
    const byAcc = await rows("--sort", "val accuracy");
    expect(byAcc[0]!.configuration).toBe("p1=depthwise, p2=1, p3=1");
    expect(byAcc.map((r) => r.val_accuracy)).toEqual(
      [...byAcc.map((r) => r.val_accuracy)].sort((x, y) => y - x),
    );
    const perMac = await rows("--sort", "val_accuracy_per_mmac");
    expect(perMac[0]!.configuration).toBe("p1=depthwise, p2=depthwise, p3=depthwise");
    const bad = await runCli("report", fixture, "--sort", "speed");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--sort speed: no such column; choose from p1, p2, p3, params/);
  });

  it("--metric picks another split's accuracy; one not measured is a usage error", async () => {
    const r = JSON.parse(
      (await runCli("report", fixture, "--json", "--metric", "train_accuracy")).stdout,
    );
    expect(r.metric.title).toBe("train accuracy");
    const bad = await runCli("report", fixture, "--metric", "test_accuracy");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/choose from val_accuracy, train_accuracy/);
  });

  it("bad folders: missing, without results, empty or with a damaged row, exit 1 naming the file", async () => {
    const missing = join(tmpdir(), "archc-report-does-not-exist");
    const cases: [string, RegExp][] = [
      [missing, /archc-report-does-not-exist does not exist/],
      [
        mkdtempSync(join(tmpdir(), "archc-report-")),
        /results\.jsonl does not exist: is .* a sweep's or search's --out folder/,
      ],
      [folderWith("\n"), /results\.jsonl has no rows/],
    ];
    const lines = readFileSync(join(fixture, "results.jsonl"), "utf8").split("\n");
    const cut = folderWith([lines[0], lines[1]!.slice(0, 40), lines[2]].join("\n") + "\n");
    cases.push([cut, /results\.jsonl:2: damaged row, not JSON/]);
    const wrong = folderWith(
      lines[0]!.replace('"valAccuracy":0.81', '"valAccuracy":"high"') + "\n",
    );
    cases.push([wrong, /results\.jsonl:1: damaged row, train\.valAccuracy is not a number/]);
    cases.push([folderWith('{"variant":"x"}\n'), /results\.jsonl:1: damaged row, no point/]);
    for (const [dir, message] of cases) {
      const r = await runCli("report", dir);
      expect(r.code, dir).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe("");
    }
  });

  it("a folder without accuracy gives the table and says why there is no analysis", async () => {
    const lines = readFileSync(join(fixture, "results.jsonl"), "utf8").trim().split("\n");
    const untrained = lines
      .map((l) => {
        const { train: _t, seed: _s, ...rest } = JSON.parse(l);
        return JSON.stringify(rest);
      })
      .join("\n");
    const r = await runCli("report", folderWith(untrained + "\n"));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/no accuracy was measured/);
    expect(r.stdout).not.toMatch(/Pareto/);
  });

  it("--plot draws every axis: Pareto fronts labelled with whole configurations, an EDF and an effect panel per axis; SVG and PNG", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-report-"));
    mkdirSync(join(dir, "run"));
    copyFileSync(join(fixture, "results.jsonl"), join(dir, "run", "results.jsonl"));
    const svgPath = join(dir, "r.svg");
    const r = await runCli("report", join(dir, "run"), "--plot", svgPath);
    expect(r.code).toBe(0);
    const svg = readFileSync(svgPath, "utf8");
    expect(svg).toContain("p1=depthwise, p2=depthwise, p3=depthwise");
    expect(svg).toContain("val accuracy against MACs: the Pareto front");
    // One EDF and one effect panel per axis: every axis is a facet header, twice.
    for (const axis of ["p1", "p2", "p3"])
      expect(svg.match(new RegExp(`>${axis}</text>`, "g"))!.length).toBeGreaterThanOrEqual(2);
    const png = join(dir, "r.png");
    expect((await runCli("report", join(dir, "run"), "--plot", png)).code).toBe(0);
    expect(readFileSync(png).subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
  });
});
