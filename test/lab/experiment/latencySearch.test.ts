import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseWhere } from "../../../compiler/language/config/constraints.js";
import { runCli } from "../../helpers.js";
import { guardSigint, interruptWhen } from "../interrupt.js";

guardSigint();

const stages = join(import.meta.dirname, "stages.arch");

interface Row {
  args: Record<string, number | string>;
  macs: number;
  cached: boolean;
  latency: { medianMs: number; minMs: number; maxMs: number; runs: number };
}
interface Searched {
  rows: Row[];
  feasible: number;
  latency: { measured: boolean; timed: number; cached: number; feasible: number; runs: number };
}

/** 12 configurations, 8 under the MAC budget: each timed with 2 passes on the pure-JS backend. */
const search = (out: string, ...where: string[]) =>
  runCli(
    "search",
    stages,
    "--sweep",
    "p1=1,2,4,8,16,depthwise",
    "--sweep",
    "width=8,16",
    "--where",
    "macs <= 1.2M",
    ...where.flatMap((w) => ["--where", w]),
    "--backend",
    "cpu",
    "--runs",
    "2",
    "--out",
    out,
    "--json",
    "--quiet",
  );

describe("archc search --where 'latency <= T'", () => {
  it("parses times in ms, us and s into milliseconds", () => {
    const ms = (t: string) => {
      const c = parseWhere(t);
      if ("code" in c) throw new Error(c.message);
      return [c.cost, c.op, c.bound];
    };
    expect(ms("latency <= 5ms")).toEqual(["latency", "<=", 5]);
    expect(ms("latency < 250us")).toEqual(["latency", "<", 0.25]);
    expect(ms("0.5s > latency")).toEqual(["latency", "<", 500]);
    const bad = parseWhere("latency <= 5");
    expect("code" in bad && bad.message).toBe("latency is a time: 5 needs a unit");
  });

  it("times only what meets the exact constraints, keeps what meets the bound, and never times a network twice", async () => {
    const out = mkdtempSync(join(tmpdir(), "archc-latency-"));
    // A bound everything meets: every configuration under the MAC budget is timed once.
    const all = JSON.parse((await search(out, "latency <= 1000s")).stdout) as Searched;
    const exact = all.rows.length;
    expect(all.latency.timed).toBe(exact);
    // depthwise is p1 = width: the same network, timed once.
    const depthwise = all.rows.filter((r) => r.args["p1"] === "depthwise").length;
    expect(all.latency.cached).toBe(depthwise);
    expect(all.feasible).toBe(exact);
    for (const r of all.rows) {
      expect(r.macs).toBeLessThanOrEqual(1_200_000);
      expect(r.latency.runs).toBe(2);
    }
    const timings = readFileSync(join(out, "latency.jsonl"), "utf8").trim().split("\n");
    expect(timings).toHaveLength(exact - depthwise);

    // A bound between the measured times (not a guess about this machine's speed): the rerun
    // takes every timing from the cache, so exactly those at or under it remain.
    const medians = all.rows.map((r) => r.latency.medianMs).sort((a, b) => a - b);
    const bound = medians[Math.floor(medians.length / 2) - 1]!;
    expect(bound).toBeLessThan(medians[medians.length - 1]!);
    const cut = JSON.parse((await search(out, `latency <= ${bound}ms`)).stdout) as Searched;
    expect(cut.latency).toMatchObject({ measured: true, timed: exact, cached: exact });
    const kept = all.rows.filter((r) => r.latency.medianMs <= bound);
    expect(cut.feasible).toBe(kept.length);
    expect(cut.rows.map((r) => r.args)).toEqual(kept.map((r) => r.args));
    // Its rows are the ones measured before, timing and all.
    expect(cut.rows.every((r) => r.cached)).toBe(true);
    expect(readFileSync(join(out, "latency.jsonl"), "utf8").trim().split("\n")).toHaveLength(
      exact - depthwise,
    );

    // A bound nothing meets names itself and the nearest bound that admits a configuration.
    const none = await runCli(
      "search",
      stages,
      "--sweep",
      "p1=1,2,4,8,16,depthwise",
      "--sweep",
      "width=8,16",
      "--where",
      "macs <= 1.2M",
      "--where",
      "latency < 1us",
      "--backend",
      "cpu",
      "--runs",
      "2",
      "--out",
      out,
      "--quiet",
    );
    expect(none.code).toBe(1);
    const nearest = Number((medians[0]! * 1000).toPrecision(12));
    expect(none.stderr).toContain(
      "no configuration of stages meets latency < 1us with the constraints before it: the feasible set is empty",
    );
    expect(none.stderr).toContain(
      `the nearest budget that admits a configuration is latency <= ${nearest}us (of ${exact} configurations left before it)`,
    );
  });

  it("Ctrl-C while timing exits 130; the same command then times only what is left and ends as an uninterrupted search", async () => {
    const straight = JSON.parse(
      (await search(mkdtempSync(join(tmpdir(), "archc-latency-")), "latency <= 1000s")).stdout,
    ) as Searched;
    const out = mkdtempSync(join(tmpdir(), "archc-latency-"));
    const timings = join(out, "latency.jsonl");
    const stopped = await interruptWhen(
      () => existsSync(timings),
      () => search(out, "latency <= 1000s"),
    );
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toMatch(/configurations timed \(kept in .*latency\.jsonl\)/);
    const kept = readFileSync(timings, "utf8").trim().split("\n").length;
    const resumed = JSON.parse((await search(out, "latency <= 1000s")).stdout) as Searched;
    expect(resumed.latency.cached).toBeGreaterThanOrEqual(kept);
    expect(resumed.rows.map((r) => r.args)).toEqual(straight.rows.map((r) => r.args));
  });

  it("an experiment's design space takes a latency bound; the output says latency is measured", async () => {
    const out = mkdtempSync(join(tmpdir(), "archc-latency-"));
    const r = await runCli(
      "search",
      stages,
      "--experiment",
      "timed",
      "--backend",
      "cpu",
      "--runs",
      "2",
      "--out",
      out,
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /latency is measured, not counted: the median of 2 timed passes at batch 1 on .*, for each of 3 configurations/,
    );
    expect(r.stderr).toMatch(/The slowest pass exceeds the fastest by \d+% of the median/);
    expect(r.stderr).toMatch(/3 of 3 meet latency <= 100s/);
  });
});
