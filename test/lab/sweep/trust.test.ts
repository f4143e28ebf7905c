import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { acquireLock, releaseLock } from "../../../compiler/lab/run/index.js";
import { runCli } from "../../helpers.js";
import { guardSigint, interruptWhen, quickTraining } from "../interrupt.js";

const repo = join(import.meta.dirname, "..", "..", "..");
const tiny = join(repo, "examples", "tiny.arch");

interface Row {
  variant: string;
  params?: number;
  cached?: boolean;
  key: string;
  train?: { epochs: number; loss: number; valAccuracy?: number };
}
const rows = (stdout: string) => (JSON.parse(stdout) as { results: Row[] }).results;
const tmp = () => mkdtempSync(join(tmpdir(), "archc-trust-"));

guardSigint({
  ARCHC_CACHE_DIR: join(repo, "test", ".generated", "cache"),
  ARCHC_GROUPED_STRATEGY: "split",
});

describe("a sweep reuses a saved row only for the same identity", () => {
  it("another --set or --measure is measured again; an identical rerun is marked cached", async () => {
    const out = join(tmp(), "s");
    const sweep = (...more: string[]) =>
      runCli("sweep", tiny, "--sweep", "parts=1,2", "--out", out, "--json", ...more);
    const ten = rows((await sweep("-s", "classes=10")).stdout);
    const thousand = rows((await sweep("-s", "classes=1000")).stdout);
    // examples/tiny.arch: the classifier takes 32 channels, so it holds 33 * classes parameters.
    expect(thousand.map((r) => r.params! - ten[0]!.params!)).toEqual([
      33 * 990,
      33 * 990 + ten[1]!.params! - ten[0]!.params!,
    ]);
    expect(thousand.every((r) => !r.cached)).toBe(true);
    const again = await sweep("-s", "classes=1000");
    expect(rows(again.stdout).map((r) => [r.params, r.cached])).toEqual(
      thousand.map((r) => [r.params, true]),
    );
    const measured = rows((await sweep("-s", "classes=1000", "--measure", "params")).stdout);
    expect(measured.every((r) => !r.cached)).toBe(true);
    const table = await runCli(
      "sweep",
      tiny,
      "--sweep",
      "parts=1,2",
      "--out",
      out,
      "-s",
      "classes=1000",
    );
    expect(table.stdout).toMatch(/cached/);
    expect(table.stdout.split("\n")[2]).toMatch(/yes$/);
  });

  it("a sweep folder in use by another process is refused, naming it", async () => {
    const out = join(tmp(), "s");
    const lock = acquireLock(out, "sweep");
    try {
      const r = await runCli("sweep", tiny, "--sweep", "parts=1,2", "--out", out);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`in use by process ${process.pid} \\(archc sweep`));
    } finally {
      releaseLock(lock);
    }
    expect((await runCli("sweep", tiny, "--sweep", "parts=1,2", "--out", out)).code).toBe(0);
  });

  it("a kill between a variant's last checkpoint and its results line loses nothing", async () => {
    const out = join(tmp(), "s");
    const args = [
      "sweep",
      tiny,
      "--sweep",
      "parts=1,2",
      "--measure",
      "params,train",
      ...quickTraining(out),
    ];
    const run1 = await runCli(...args);
    expect(run1.stderr).toBe("");
    const first = rows(run1.stdout);
    expect(first.map((r) => r.train?.epochs)).toEqual([1, 1]);
    // As if killed after the second variant's checkpoint, before its results line.
    const path = join(out, "results.jsonl");
    const lines = readFileSync(path, "utf8").trim().split("\n");
    writeFileSync(path, lines[0] + "\n" + lines[1]!.slice(0, 40));
    const ckpt = join(out, "tiny_parts_=_2", "checkpoint.bin");
    const before = statSync(ckpt).mtimeMs;
    const run2 = await runCli(...args);
    expect(run2.stderr).toBe("");
    const second = rows(run2.stdout);
    expect(second[0]!.cached).toBe(true);
    // Not trained again: the row comes from the checkpoint's history.
    expect(statSync(ckpt).mtimeMs).toBe(before);
    expect(second[1]!.train).toEqual(first[1]!.train);
    const third = rows((await runCli(...args)).stdout);
    expect(third.map((r) => r.cached)).toEqual([true, true]);
  });

  it("Ctrl-C in a training sweep exits 130; the same command then ends where an uninterrupted sweep ends", async () => {
    const sweepArgs = (out: string) => [
      "sweep",
      tiny,
      "--sweep",
      "parts=1,2",
      "--measure",
      "train",
      ...quickTraining(out, "synthetic:32", "--batch", "8"),
    ];
    const straight = rows((await runCli(...sweepArgs(join(tmp(), "s")))).stdout);
    const out = join(tmp(), "s");
    const stopped = await interruptWhen(
      () => existsSync(join(out, "tiny_parts_=_1", "manifest.json")),
      () => runCli(...sweepArgs(out)),
    );
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toMatch(/Run the same command again to continue/);
    expect(existsSync(join(out, "results.jsonl"))).toBe(false);
    const resumed = rows((await runCli(...sweepArgs(out))).stdout);
    expect(resumed.map((r) => r.key)).toEqual(straight.map((r) => r.key));
    for (const [i, r] of resumed.entries()) {
      expect(r.train!.loss).toBeCloseTo(straight[i]!.train!.loss, 5);
      expect(r.train!.valAccuracy).toBeCloseTo(straight[i]!.train!.valAccuracy!, 5);
    }
  });

  it("a latency-only sweep hears Ctrl-C after the timing it is in, and the rerun times only the rest", async () => {
    // Timing on tfjs never waits for I/O: without a turn of the event loop between rows the
    // signal would be handled only after every row was timed.
    const sweepArgs = (out: string) => [
      "sweep",
      tiny,
      "--sweep",
      "parts=1,2,4,8",
      "--measure",
      "latency",
      "--backend",
      "cpu",
      "--runs",
      "2",
      "--out",
      out,
      "--json",
      "--quiet",
    ];
    const out = join(tmp(), "s");
    const results = join(out, "results.jsonl");
    const stopped = await interruptWhen(
      () => existsSync(results),
      () => runCli(...sweepArgs(out)),
    );
    expect(stopped.code).toBe(130);
    const kept = readFileSync(results, "utf8").trim().split("\n").length;
    expect(kept).toBeLessThan(4);
    const resumed = rows((await runCli(...sweepArgs(out))).stdout);
    expect(resumed).toHaveLength(4);
    expect(resumed.filter((r) => r.cached)).toHaveLength(kept);
  });
});
