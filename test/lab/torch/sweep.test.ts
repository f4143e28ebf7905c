import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../helpers.js";
import { inCI, needPython, python, pythonProblem } from "../../backends/torch/python.js";

/**
 * Sweeps across machines: `--shard I/N` measures every N-th variant, `--merge` joins the shards'
 * folders into the table one unsharded sweep prints, refusing rows measured differently; and
 * `--engine torch` trains each variant with PyTorch.
 */
const spec = `network small(classes = 4, parts = 2) {
  input 12x12x3
  conv 3x3/2 8 -> bn -> relu
  sepconv 3x3 16 parts=parts -> bn -> relu
  gap -> dense classes softmax
}
`;
const problem = pythonProblem("torch, numpy");

function setup() {
  const dir = mkdtempSync(join(tmpdir(), "archc-shard-"));
  const file = join(dir, "small.arch");
  writeFileSync(file, spec);
  return { dir, file };
}

type Row = { variant: string; params: number; macs: number; key: string };
const rows = (stdout: string): Row[] =>
  (JSON.parse(stdout) as { results: (Row & { cached?: boolean })[] }).results.map(
    ({ variant, params, macs, key }) => ({ variant, params, macs, key }),
  );

describe("archc sweep --shard and --merge", () => {
  it("two shards, merged, give the unsharded sweep's rows; a row measured differently is refused", async () => {
    const { dir, file } = setup();
    const sweep = ["sweep", file, "--sweep", "parts=1,2,4,8", "--json", "--quiet"];
    const whole = await runCli(...sweep, "--out", join(dir, "whole"));
    expect(whole.code, whole.stderr).toBe(0);
    for (const i of [0, 1]) {
      const r = await runCli(...sweep, "--shard", `${i}/2`, "--out", join(dir, `s${i}`));
      expect(r.code, r.stderr).toBe(0);
      expect(rows(r.stdout)).toHaveLength(2);
    }
    const merged = await runCli(...sweep, "--merge", join(dir, "s0"), join(dir, "s1"));
    expect(merged.code, merged.stderr).toBe(0);
    expect(rows(merged.stdout)).toEqual(rows(whole.stdout));
    // One shard alone is incomplete: the missing variants are named.
    const half = await runCli(...sweep, "--merge", join(dir, "s1"));
    expect(half.code).toBe(1);
    expect(half.stderr).toMatch(/no shard measured small\(parts = 1\), small\(parts = 4\)/);
    // A row from another spec (its hash differs) is refused, naming the field.
    const path = join(dir, "s1", "results.jsonl");
    const lines = readFileSync(path, "utf8").trim().split("\n");
    const forged = JSON.parse(lines[0]!) as { identity: { spec: string } };
    forged.identity.spec = "0".repeat(64);
    writeFileSync(path, [JSON.stringify(forged), ...lines.slice(1)].join("\n") + "\n");
    const bad = await runCli(...sweep, "--merge", join(dir, "s0"), join(dir, "s1"));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/refused, it was measured differently .*spec/);
    const badShard = await runCli(...sweep, "--shard", "2/2");
    expect(badShard.code).toBe(2);
    expect(badShard.stderr).toMatch(/--shard takes I\/N with 0 <= I < N/);
  }, 120_000);

  it.skipIf(problem !== undefined && !inCI)(
    "--engine torch trains each variant with PyTorch",
    async () => {
      needPython(problem);
      const { dir, file } = setup();
      // The same sweep twice: measured for --json, then shown from the cache for a person.
      const sweep = [
        "sweep",
        file,
        "--sweep",
        "parts=1,depthwise",
        "--measure",
        "params,train",
        "--engine",
        "torch",
        "--python",
        python,
        "--data",
        "synthetic:32",
        "--epochs",
        "1",
        "--out",
        join(dir, "torch"),
      ];
      const r = await runCli(...sweep, "--json", "--quiet");
      expect(r.code, r.stderr).toBe(0);
      const results = (
        JSON.parse(r.stdout) as {
          results: { identity: { engine?: string }; train?: { loss: number; epochs: number } }[];
        }
      ).results;
      expect(results).toHaveLength(2);
      for (const row of results) {
        expect(row.identity.engine).toBe("torch");
        expect(row.train!.epochs).toBe(1);
        expect(Number.isFinite(row.train!.loss)).toBe(true);
      }
      // Printed for a person (rows cached now): a torch sweep starts no tfjs backend, so it
      // names none (issue 22.4: a torch run never prints the wasm backend line).
      const shown = await runCli(...sweep);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stderr).not.toMatch(/backend:/);
    },
    300_000,
  );

  it.skipIf(problem !== undefined && !inCI)(
    "--engine torch --measure latency times forward passes in PyTorch: median within the spread, torch named, cached apart from tfjs's",
    async () => {
      needPython(problem);
      const { dir, file } = setup();
      const latency = (engine: string) =>
        runCli(
          "sweep",
          file,
          "--sweep",
          "parts=1,depthwise",
          "--measure",
          "params,latency",
          "--runs",
          "3",
          "--engine",
          engine,
          "--python",
          python,
          "--threads",
          "1",
          "--json",
          "--quiet",
          "--out",
          join(dir, "latency"),
        );
      type Timed = {
        key: string;
        cached?: boolean;
        identity: { latency: { engine?: string } };
        latency: { backend: string; medianMs: number; minMs: number; maxMs: number; runs: number };
      };
      const timed = (stdout: string) => (JSON.parse(stdout) as { results: Timed[] }).results;
      const r = await latency("torch");
      expect(r.code, r.stderr).toBe(0);
      const torchRows = timed(r.stdout);
      expect(torchRows).toHaveLength(2);
      for (const row of torchRows) {
        expect(row.identity.latency.engine).toBe("torch");
        expect(row.latency.backend).toMatch(/^torch \S+ \(cpu, 1 thread\)$/);
        expect(row.latency.runs).toBe(3);
        expect(row.latency.minMs).toBeGreaterThan(0);
        expect(row.latency.minMs).toBeLessThanOrEqual(row.latency.medianMs);
        expect(row.latency.medianMs).toBeLessThanOrEqual(row.latency.maxMs);
      }
      // A tfjs timing of the same sweep is another measurement: none of the torch rows is reused.
      const t = await latency("tfjs");
      expect(t.code, t.stderr).toBe(0);
      const tfjsRows = timed(t.stdout);
      expect(tfjsRows.every((x) => !x.cached && !x.latency.backend.startsWith("torch"))).toBe(true);
      expect(tfjsRows.map((x) => x.key)).not.toEqual(torchRows.map((x) => x.key));
      // The torch rows are still there to reuse.
      const again = await latency("torch");
      expect(timed(again.stdout).every((x) => x.cached)).toBe(true);
    },
    300_000,
  );
});
