import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { expectGolden } from "../../golden.js";
import { buildFile, runCli } from "../../helpers.js";
import { guardSigint, interruptWhen, quickTraining } from "../interrupt.js";

const here = import.meta.dirname;
const stages = join(here, "stages.arch");
const golden = join(here, "..", "..", "golden", "diagnostics");
const tmp = () => mkdtempSync(join(tmpdir(), "archc-search-"));

type Arg = number | string;
interface Row {
  args: Record<string, Arg>;
  params: number;
  macs: number;
  cached: boolean;
  key: string;
  train?: { loss: number; valAccuracy?: number };
}
interface Searched {
  rows: Row[];
  feasible: number;
  space: number;
  invalid: number;
}
const searched = (stdout: string) => JSON.parse(stdout) as Searched;

guardSigint({ ARCHC_GROUPED_STRATEGY: "split" });

/** Every configuration of p1 x (p2 = p3) x width, summarised one by one. */
function bruteForce(budget: number): { args: Record<string, Arg>; params: number; macs: number }[] {
  const out = [];
  for (const p1 of [1, 2, 4, 8, 16, "depthwise"])
    for (const p2 of [1, 4, "depthwise"])
      for (const width of [8, 16]) {
        const sets = [`p1=${p1}`, `p2=${p2}`, `p3=${p2}`, `width=${width}`];
        const { graph } = buildFile(stages, "stages", sets);
        if (!graph || graph.totals.macs > budget) continue;
        out.push({
          args: { p1, p2, p3: p2, width },
          params: graph.totals.params.total,
          macs: graph.totals.macs,
        });
      }
  return out;
}

const space = ["--sweep", "p1=1,2,4,8,16,depthwise", "--sweep", "p2=p3=1,4,depthwise"];
const widths = ["--sweep", "width=8,16"];

describe("archc search", () => {
  it("the feasible set equals brute force: every configuration summarised one by one", async () => {
    for (const budget of [400_000, 2_000_000]) {
      const r = await runCli(
        "search",
        stages,
        ...space,
        ...widths,
        "--where",
        `macs <= ${budget / 1000}k`,
        "--out",
        tmp(),
        "--json",
        "--quiet",
      );
      expect(r.code).toBe(0);
      const s = searched(r.stdout);
      const expected = bruteForce(budget);
      expect(s.space).toBe(36);
      expect(s.feasible).toBe(expected.length);
      const key = (x: { args: Record<string, Arg> }) =>
        ["p1", "p2", "p3", "width"].map((k) => String(x.args[k])).join(" ");
      expect(s.rows.map((x) => [key(x), x.params, x.macs]).sort()).toEqual(
        expected.map((x) => [key(x), x.params, x.macs]).sort(),
      );
    }
  });

  it("p=all keeps the partition counts valid for every layer; invalid configurations are counted, never feasible", async () => {
    const r = await runCli(
      "search",
      stages,
      "--sweep",
      "p1=all",
      "--sweep",
      "width=8,16",
      "--out",
      tmp(),
      "--json",
      "--quiet",
    );
    const s = searched(r.stdout);
    // p1 = all at the default width 16: 1, 2, 4, 8, 16 and depthwise; 16 does not divide width 8.
    expect(s.space).toBe(12);
    expect(s.invalid).toBe(1);
    expect(s.feasible).toBe(11);
  });

  it("--snap counts each configuration as the snapped network it builds", async () => {
    // parts = 3 divides neither 8 nor 16 channels: invalid without --snap; with it, the layer
    // takes the nearest valid count, and the search must count (and bound) that network.
    const args = ["--sweep", "p1=1,3,16", "--where", "macs <= 1.4M", "--json", "--quiet"];
    const plain = searched((await runCli("search", stages, ...args, "--out", tmp())).stdout);
    expect([plain.invalid, plain.feasible]).toEqual([1, 1]);
    const snapped = searched(
      (await runCli("search", stages, ...args, "--snap", "--out", tmp())).stdout,
    );
    const swept = JSON.parse(
      (
        await runCli(
          "sweep",
          stages,
          "--sweep",
          "p1=3",
          "--snap",
          "--json",
          "--quiet",
          "--out",
          tmp(),
        )
      ).stdout,
    ) as { results: { params: number; macs: number }[] };
    expect(swept.results[0]!.macs).toBeLessThanOrEqual(1_400_000);
    expect([snapped.invalid, snapped.feasible]).toEqual([0, 2]);
    const row = snapped.rows.find((x) => x.args["p1"] === 3);
    expect(row && [row.params, row.macs]).toEqual([
      swept.results[0]!.params,
      swept.results[0]!.macs,
    ]);
  });

  it("sampling is reproducible from the seed and draws from the feasible set", async () => {
    const run = (seed: string) =>
      runCli(
        "search",
        stages,
        ...space,
        ...widths,
        "--where",
        "macs <= 2M",
        "--samples",
        "5",
        "--seed",
        seed,
        "--out",
        tmp(),
        "--json",
        "--quiet",
      );
    const a = searched((await run("1")).stdout);
    const b = searched((await run("1")).stdout);
    const c = searched((await run("2")).stdout);
    const feasible = new Set(bruteForce(2_000_000).map((x) => JSON.stringify(x.args)));
    expect(a.rows).toHaveLength(5);
    expect(a.rows.map((x) => x.args)).toEqual(b.rows.map((x) => x.args));
    expect(a.rows.map((x) => x.args)).not.toEqual(c.rows.map((x) => x.args));
    for (const x of [...a.rows, ...c.rows])
      expect(
        feasible.has(
          JSON.stringify({
            p1: x.args["p1"],
            p2: x.args["p2"],
            p3: x.args["p3"],
            width: x.args["width"],
          }),
        ),
      ).toBe(true);
  });

  it("an experiment declares the space: sweep p = all, tie, where, samples, seed", async () => {
    // Each run in a fresh folder: the same draw again, not rows found in results.jsonl.
    const budget = () =>
      runCli("search", stages, "--experiment", "budget", "--out", tmp(), "--json", "--quiet");
    const r = await budget();
    expect(r.code).toBe(0);
    const s = searched(r.stdout);
    expect(s.rows).toHaveLength(5);
    for (const x of s.rows) {
      expect(x.args["p3"]).toEqual(x.args["p2"]);
      expect(x.macs).toBeLessThanOrEqual(1_500_000);
    }
    const again = searched((await budget()).stdout);
    expect(again.rows.map((x) => x.args)).toEqual(s.rows.map((x) => x.args));
  });

  it("an empty feasible set is E0605 at the constraint, with the nearest budget that admits one (golden)", async () => {
    const cwd = process.cwd();
    process.chdir(here);
    try {
      const r = await runCli(
        "search",
        relative(here, stages),
        "--experiment",
        "tight",
        "--out",
        tmp(),
      );
      expect(r.code).toBe(1);
      expectGolden(join(golden, "empty_design_space.txt"), r.stderr);
      const flags = await runCli(
        "search",
        relative(here, stages),
        ...space,
        "--where",
        "params >= 1M",
        "--out",
        tmp(),
      );
      expect(flags.code).toBe(1);
      expect(flags.stderr).toMatch(
        /E0605.*params >= 1M.*\n[^]*nearest budget that admits a configuration is params >= 17,370/,
      );
      const bad = await runCli("search", stages, ...space, "--where", "flops < 3", "--out", tmp());
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/E0606.*'flops' is not a cost/);
    } finally {
      process.chdir(cwd);
    }
  });

  it("Ctrl-C mid-search exits 130; the same command then ends where an uninterrupted search ends", async () => {
    const args = (out: string) => [
      "search",
      stages,
      "--sweep",
      "p1=1,2,4",
      "--where",
      "macs <= 2M",
      "--samples",
      "2",
      "--seed",
      "5",
      "--measure",
      "params,train",
      ...quickTraining(out, "synthetic:32", "--batch", "8"),
    ];
    const straight = searched((await runCli(...args(join(tmp(), "s")))).stdout);
    const out = join(tmp(), "s");
    // Stop as soon as the first configuration's training has its folder.
    const training = () =>
      existsSync(out) && readdirSync(out).some((d) => existsSync(join(out, d, "manifest.json")));
    const stopped = await interruptWhen(training, () => runCli(...args(out)));
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toMatch(/Run the same command again to continue/);
    const resumed = searched((await runCli(...args(out))).stdout);
    expect(resumed.rows.map((r) => r.key)).toEqual(straight.rows.map((r) => r.key));
    for (const [i, r] of resumed.rows.entries())
      expect(r.train!.loss).toBeCloseTo(straight.rows[i]!.train!.loss, 5);
  });
});
