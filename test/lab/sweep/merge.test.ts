import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../helpers.js";
import { identityHash, type RunIdentity } from "../../../compiler/lab/run/identity.js";
import { mergeResults } from "../../../compiler/lab/sweep/merge.js";

/**
 * `sweep --merge` joins shards only when every row was measured as the merging command would
 * measure it: the whole identity (spec, network, every argument, fixed ones included, measures,
 * train config, data, seeds, engine) is compared, and the field that differs is named.
 */
const spec = `network small(classes = 4, parts = 2, width = 8) {
  input 8x8x3
  conv 3x3/2 width -> bn -> relu
  sepconv 3x3 16 parts=parts -> bn -> relu
  gap -> dense classes softmax
}
`;

function setup() {
  const dir = mkdtempSync(join(tmpdir(), "archc-merge-"));
  const file = join(dir, "small.arch");
  writeFileSync(file, spec);
  return { dir, file };
}

describe("archc sweep --merge compares the whole identity", () => {
  it("shards run with other fixed arguments are refused, naming the argument", async () => {
    const { dir, file } = setup();
    const sweep = ["sweep", file, "--sweep", "parts=1,2", "--json", "--quiet"];
    const s0 = await runCli(
      ...sweep,
      "--set",
      "width=8",
      "--shard",
      "0/2",
      "--out",
      join(dir, "s0"),
    );
    const s1 = await runCli(
      ...sweep,
      "--set",
      "width=16",
      "--shard",
      "1/2",
      "--out",
      join(dir, "s1"),
    );
    expect([s0.code, s1.code]).toEqual([0, 0]);
    const shards = ["--merge", join(dir, "s0"), join(dir, "s1")];
    const mixed = await runCli(...sweep, "--set", "width=8", ...shards);
    expect(mixed.code).toBe(1);
    expect(mixed.stderr).toMatch(
      /s1: small\(parts = 2\) refused, it was measured differently than this command would: args\.width: 8 now, 16 in the run/,
    );
    // Without the shards' --set, neither matches what this command would measure.
    const bare = await runCli(...sweep, ...shards);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toMatch(/args\.width: absent now, 8 in the run/);
    // The same fixed arguments on every shard and on the merge: one table, exit 0.
    const s1b = await runCli(
      ...sweep,
      "--set",
      "width=8",
      "--shard",
      "1/2",
      "--out",
      join(dir, "s1b"),
    );
    expect(s1b.code).toBe(0);
    const same = await runCli(
      ...sweep,
      "--set",
      "width=8",
      "--merge",
      join(dir, "s0"),
      join(dir, "s1b"),
    );
    expect(same.code, same.stderr).toBe(0);
    expect((JSON.parse(same.stdout) as { results: unknown[] }).results).toHaveLength(2);
  }, 60_000);

  it("other measures or a forged spec hash are refused, naming the field", async () => {
    const { dir, file } = setup();
    const sweep = ["sweep", file, "--sweep", "parts=1,2", "--json", "--quiet"];
    const s0 = await runCli(
      ...sweep,
      "--measure",
      "params",
      "--shard",
      "0/2",
      "--out",
      join(dir, "s0"),
    );
    const s1 = await runCli(...sweep, "--shard", "1/2", "--out", join(dir, "s1"));
    expect([s0.code, s1.code]).toEqual([0, 0]);
    const merged = await runCli(...sweep, "--merge", join(dir, "s0"), join(dir, "s1"));
    expect(merged.code).toBe(1);
    expect(merged.stderr).toMatch(
      /s0: small\(parts = 1\) refused, it was measured differently than this command would: measures: \["macs","params"\] now, \["params"\] in the run/,
    );
    expect(merged.stderr).not.toMatch(/s1:/);
  }, 60_000);
});

describe("mergeResults", () => {
  it("names a differing train config, data, seed or engine, and takes the equal row", () => {
    const base: RunIdentity = {
      archc: "1.0.0",
      spec: "abc",
      network: "small",
      args: { parts: { t: "int", v: 2 } },
      measures: ["params", "train"],
      train: { epochs: 2, optimizer: { kind: "sgd", lr: 0.1 } },
      data: { source: "synthetic:32", limit: null, valLimit: null },
      seed: 0,
    };
    const variants: [string, RunIdentity][] = [
      ["small(parts = 1)", { ...base, args: { parts: { t: "int", v: 1 } } }],
      ["small(parts = 2)", base],
      ["small(parts = 4)", { ...base, args: { parts: { t: "int", v: 4 } } }],
      ["small(parts = 8)", { ...base, args: { parts: { t: "int", v: 8 } } }],
      ["small(parts = 16)", { ...base, args: { parts: { t: "int", v: 16 } } }],
    ];
    const rows: [string, RunIdentity][] = [
      [
        variants[0]![0],
        { ...variants[0]![1], train: { epochs: 2, optimizer: { kind: "sgd", lr: 0.05 } } },
      ],
      [variants[1]![0], base],
      [
        variants[2]![0],
        { ...variants[2]![1], data: { source: "synthetic:64", limit: null, valLimit: null } },
      ],
      [variants[3]![0], { ...variants[3]![1], seed: 1 }],
      [variants[4]![0], { ...variants[4]![1], engine: "torch" }],
    ];
    const dir = mkdtempSync(join(tmpdir(), "archc-merge-"));
    writeFileSync(
      join(dir, "results.jsonl"),
      rows
        .map(([variant, identity]) =>
          JSON.stringify({ variant, key: identityHash(identity), identity, point: {}, params: 1 }),
        )
        .join("\n") + "\n",
    );
    const merged = mergeResults(
      [dir],
      variants.map(([label, identity]) => ({ label, identity })),
    );
    expect(merged.records.map((r) => r.variant)).toEqual(["small(parts = 2)"]);
    expect(merged.problems.map((p) => p.replace(/^.*would: /, ""))).toEqual([
      "train.optimizer.lr: 0.1 now, 0.05 in the run",
      'data.source: "synthetic:32" now, "synthetic:64" in the run',
      "seed: 0 now, 1 in the run",
      'engine: absent now, "torch" in the run',
    ]);
  });
});
