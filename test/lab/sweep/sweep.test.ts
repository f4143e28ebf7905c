import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { identityHash, type RunIdentity } from "../../../compiler/lab/run/index.js";
import { runCli } from "../../helpers.js";

const repo = join(import.meta.dirname, "..", "..", "..");
const execFileAsync = promisify(execFile);
const xception = join(repo, "specs", "xception.arch");

function tinySpec(dir: string): string {
  const f = join(dir, "tiny.arch");
  writeFileSync(
    f,
    "network tiny(parts = 1, mid = none, width = 8) {\n  input 12x12x3\n  conv 3x3 (width * 2)\n  sepconv 3x3 (width * 2) parts=parts mid=mid -> bn -> relu\n  conv 3x3 (width * 4) parts=parts\n  gap -> dense 4 softmax\n}\n",
  );
  return f;
}

interface Out {
  axes: string[];
  results: {
    variant: string;
    point: Record<string, unknown>;
    params?: number;
    macs?: number;
    error?: { code: string };
    snapped?: unknown[];
    latency?: { medianMs: number };
  }[];
}

describe("archc sweep", () => {
  it("one row per variant of the cross product; params fall strictly as parts rises", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-sweep-"));
    const r = await runCli(
      "sweep",
      tinySpec(dir),
      "--sweep",
      "parts=1,2,4,8,16",
      "--sweep",
      "mid=none,relu",
      "--json",
      "--out",
      join(dir, "run"),
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Out;
    expect(out.axes).toEqual(["parts", "mid"]);
    expect(out.results).toHaveLength(10);
    const none = out.results.filter((x) => x.point["mid"] === "none").map((x) => x.params!);
    for (let i = 1; i < none.length; i++) expect(none[i]!).toBeLessThan(none[i - 1]!);
    const lines = readFileSync(join(dir, "run", "results.jsonl"), "utf8")
      .trim()
      .split("\n");
    expect(lines).toHaveLength(10);
  });

  it("resumes: variants already in results.jsonl are not measured again", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-sweep-"));
    const spec = tinySpec(dir);
    const out = join(dir, "run");
    await runCli("sweep", spec, "--sweep", "parts=1,2", "--out", out, "--json");
    // Mark the finished rows so a re-measurement would show.
    const path = join(out, "results.jsonl");
    writeFileSync(path, readFileSync(path, "utf8").replace(/"params":\d+/g, '"params":12345'));
    const r = await runCli("sweep", spec, "--sweep", "parts=1,2,4", "--out", out, "--json");
    const res = (JSON.parse(r.stdout) as Out).results;
    expect(res.map((x) => x.params)).toEqual([12345, 12345, expect.any(Number)]);
    expect(res[2]!.params).not.toBe(12345);
    expect(r.stderr).toMatch(/cached in results.jsonl/);
  });

  it("variants whose run crashed are measured again on resume; diagnostics are kept", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-sweep-"));
    const out = join(dir, "run");
    const spec = tinySpec(dir);
    await runCli("sweep", spec, "--sweep", "parts=1,2", "--out", out, "--json");
    const path = join(out, "results.jsonl");
    const lines = readFileSync(path, "utf8").trim().split("\n");
    const crashed = {
      ...JSON.parse(lines[1]!),
      params: undefined,
      error: { code: "run", message: "Aborted()" },
    };
    writeFileSync(path, `${lines[0]}\n${JSON.stringify(crashed)}\n`);
    const r = await runCli("sweep", spec, "--sweep", "parts=1,2", "--out", out, "--json");
    const res = (JSON.parse(r.stdout) as Out).results;
    expect(res[1]!.error).toBeUndefined();
    expect(res[1]!.params).toBeGreaterThan(0);
  });

  it("parts=all expands to the values valid for every layer, ending with depthwise", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-sweep-"));
    const r = await runCli(
      "sweep",
      tinySpec(dir),
      "--sweep",
      "parts=all",
      "--json",
      "--out",
      join(dir, "run"),
    );
    const out = JSON.parse(r.stdout) as Out;
    expect(out.results.map((x) => x.point["parts"])).toEqual([1, 2, 4, 8, 16, "depthwise"]);
  });

  it("a variant that fails is reported with its diagnostic and the rest go on; --snap records its choices", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-sweep-"));
    const spec = tinySpec(dir);
    const r = await runCli(
      "sweep",
      spec,
      "--sweep",
      "parts=2,3,4",
      "--json",
      "--out",
      join(dir, "a"),
    );
    const out = JSON.parse(r.stdout) as Out;
    expect(out.results.map((x) => x.error?.code ?? "ok")).toEqual(["ok", "E0400", "ok"]);
    expect(r.stderr).toMatch(/parts = 3.*E0400|E0400.*parts = 3/);
    const snapped = JSON.parse(
      (
        await runCli(
          "sweep",
          spec,
          "--sweep",
          "parts=3",
          "--snap",
          "--json",
          "--out",
          join(dir, "b"),
        )
      ).stdout,
    ) as Out;
    expect(snapped.results[0]!.error).toBeUndefined();
    expect(snapped.results[0]!.snapped).toEqual([
      { layer: "sepconv", requested: 3, chosen: 2 },
      { layer: "conv_1", requested: 3, chosen: 2 },
    ]);
  });

  it("invalid axes and values are clear errors", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-sweep-"));
    const spec = tinySpec(dir);
    const bad = await runCli("sweep", spec, "--sweep", "prts=1,2");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/no parameter 'prts'[\s\S]*did you mean 'parts'/);
    expect((await runCli("sweep", spec, "--sweep", "parts=1,,2")).stderr).toMatch(/E0601/);
    expect((await runCli("sweep", spec)).stderr).toMatch(/nothing to sweep/);
    expect((await runCli("sweep", spec, "--sweep", "parts=1", "--measure", "speed")).code).toBe(2);
  });

  it("table, CSV and an SVG plot with a log-scale parts axis", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-sweep-"));
    const spec = tinySpec(dir);
    const plot = join(dir, "p.svg");
    const table = await runCli(
      "sweep",
      spec,
      "--sweep",
      "parts=1,2,depthwise",
      "--out",
      join(dir, "r"),
      "--plot",
      plot,
    );
    expect(table.stdout).toMatch(/parts\s+params\s+MACs/);
    expect(table.stdout).toMatch(/depthwise/);
    const svg = readFileSync(plot, "utf8");
    expect(svg).toMatch(/^<svg/);
    expect(svg).toMatch(/parts \(log scale\)/);
    const csv = await runCli(
      "sweep",
      spec,
      "--sweep",
      "parts=1,2",
      "--csv",
      "--out",
      join(dir, "r"),
    );
    expect(csv.stdout.split("\n")[0]).toBe(
      "parts,params,trainable,macs,backend,batch,latency_median_ms,latency_min_ms,latency_max_ms,train_loss,train_accuracy,val_loss,val_accuracy,val_data,bn_lag,cached,error",
    );
  });

  it("runs an experiment declaration's models", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-sweep-"));
    const r = await runCli(
      "sweep",
      join(repo, "specs", "experiments.arch"),
      "--experiment",
      "fig9_residual",
      "--json",
      "--out",
      dir,
    );
    const out = JSON.parse(r.stdout) as Out;
    expect(out.results.map((x) => x.variant)).toEqual([
      "xception(residual = true)",
      "xception(residual = false)",
    ]);
    expect(out.results[0]!.params).toBe(22_910_480);
    expect(out.results[1]!.params!).toBeLessThan(22_910_480);
  });

  it("measures latency on the embedded backend", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-sweep-"));
    const r = await runCli(
      "sweep",
      tinySpec(dir),
      "--sweep",
      "parts=1,4",
      "--measure",
      "params,macs,latency",
      "--backend",
      "wasm",
      "--runs",
      "2",
      "--json",
      "--out",
      join(dir, "r"),
    );
    const out = JSON.parse(r.stdout) as Out;
    for (const x of out.results) expect(x.latency!.medianMs).toBeGreaterThan(0);
  });

  it("a latency row timed at one thread count is not reused at another", async () => {
    // One process per sweep: a process's wasm backend keeps the thread count it started with.
    const dir = mkdtempSync(join(tmpdir(), "archc-sweep-"));
    const spec = tinySpec(dir);
    const sweep = async (threads: string) => {
      const { stdout } = await execFileAsync(
        process.execPath,
        [
          join(repo, "bin", "archc.cjs"),
          "sweep",
          spec,
          "--sweep",
          "parts=1",
          "--measure",
          "latency",
          "--backend",
          "wasm",
          "--threads",
          threads,
          "--runs",
          "1",
          "--json",
          "--quiet",
          "--out",
          join(dir, "r"),
        ],
        { encoding: "utf8" },
      );
      return (JSON.parse(stdout) as { results: { cached?: boolean; key: string }[] }).results[0]!;
    };
    const one = await sweep("1");
    const again = await sweep("1");
    const two = await sweep("2");
    expect([one.cached ?? false, again.cached ?? false, two.cached ?? false]).toEqual([
      false,
      true,
      false,
    ]);
    expect(two.key).not.toBe(one.key);
  });

  it("times the inference program, and re-times a row timed with model.predict before", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-sweep-"));
    const spec = tinySpec(dir);
    const out = join(dir, "r");
    type Row = { cached?: boolean; key: string; identity: Record<string, unknown> };
    const sweep = async () => {
      const r = await runCli(
        "sweep",
        spec,
        "--sweep",
        "parts=1,4",
        "--measure",
        "latency",
        "--backend",
        "wasm",
        "--runs",
        "1",
        "--json",
        "--out",
        out,
      );
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { results: Row[] }).results;
    };
    const first = await sweep();
    for (const row of first)
      expect((row.identity["latency"] as Record<string, unknown>)["times"]).toBe(
        "inference program",
      );
    // Rewrite both files as the version that timed model.predict wrote them: identities without
    // what was timed, keyed by their hash.
    const oldStyle = (file: string, strip: (line: Record<string, unknown>) => void) => {
      const path = join(out, file);
      const lines = readFileSync(path, "utf8").trim().split("\n");
      const rewritten = lines.map((text) => {
        const line = JSON.parse(text) as Record<string, unknown> & { identity: RunIdentity };
        strip(line);
        return JSON.stringify({ ...line, key: identityHash(line.identity) });
      });
      writeFileSync(path, rewritten.join("\n") + "\n");
      return rewritten.length;
    };
    expect(
      oldStyle("results.jsonl", (l) => {
        delete (l["identity"] as { latency: Record<string, unknown> }).latency["times"];
      }),
    ).toBe(2);
    expect(
      oldStyle("latency.jsonl", (l) => {
        delete (l["identity"] as Record<string, unknown>)["times"];
      }),
    ).toBe(2);
    const second = await sweep();
    expect(second.map((r) => r.cached ?? false)).toEqual([false, false]);
    expect(second.map((r) => r.key)).toEqual(first.map((r) => r.key));
    // The latency file now holds the old timings and the new ones, each under its own key.
    expect(readFileSync(join(out, "latency.jsonl"), "utf8").trim().split("\n")).toHaveLength(4);
    const third = await sweep();
    expect(third.map((r) => r.cached ?? false)).toEqual([true, true]);
  });

  it("Xception's sweep over its valid parts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-sweep-"));
    const r = await runCli("sweep", xception, "--sweep", "parts=all", "--json", "--out", dir);
    const out = JSON.parse(r.stdout) as Out;
    expect(out.results.map((x) => x.point["parts"])).toEqual([1, 2, 4, 8, "depthwise"]);
  });
});
