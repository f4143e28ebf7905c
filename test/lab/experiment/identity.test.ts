import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../helpers.js";
import { guardSigint, quickTraining } from "../interrupt.js";

/**
 * A run's identity is what decides its numbers (the elaborated network, the config after
 * overrides, data, seed, engine), not the spec file's bytes.
 */
const repo = join(import.meta.dirname, "..", "..", "..");
const tinyText = readFileSync(join(repo, "examples", "tiny.arch"), "utf8");

interface Row {
  variant: string;
  cached?: boolean;
  key: string;
  train?: { loss: number };
}
const rows = (stdout: string) => (JSON.parse(stdout) as { results: Row[] }).results;

/** A folder holding tiny.arch as `spec.arch`, rewritten by `edit`. */
function specIn(dir: string, text = tinyText): string {
  const file = join(dir, "spec.arch");
  writeFileSync(file, text);
  return file;
}

guardSigint({ ARCHC_GROUPED_STRATEGY: "split" });

const commented = `# a comment that moves every line down\n\n${tinyText}\n# and one at the end\n`;
const unrelated = `${tinyText}\nblock spare(f) {\n  conv 1x1 f\n}\n`;
const changed = tinyText.replace("conv 3x3/2 16 valid", "conv 3x3/2 24 valid");

describe("a comment or an unrelated declaration keeps every cached row", () => {
  it("a training sweep reuses every row after such edits, and measures again after a network change", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-identity-"));
    const out = join(dir, "out");
    const sweep = (file: string) =>
      runCli(
        "sweep",
        file,
        "--sweep",
        "parts=1,2",
        "--measure",
        "params,train",
        ...quickTraining(out, "synthetic:16"),
      );
    const first = rows((await sweep(specIn(dir))).stdout);
    expect(first.map((r) => r.cached ?? false)).toEqual([false, false]);
    for (const text of [commented, unrelated]) {
      const again = await sweep(specIn(dir, text));
      expect(again.code).toBe(0);
      expect(rows(again.stdout).map((r) => [r.key, r.cached])).toEqual(
        first.map((r) => [r.key, true]),
      );
    }
    const other = rows((await sweep(specIn(dir, changed))).stdout);
    expect(other.map((r) => r.cached ?? false)).toEqual([false, false]);
  });

  it("train --resume continues after a comment, and refuses a changed network", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-identity-"));
    const out = join(dir, "run");
    const train = (file: string, ...more: string[]) =>
      runCli(
        "train",
        file,
        "--data",
        "synthetic:16",
        "--backend",
        "wasm",
        "--out",
        out,
        "--quiet",
        ...more,
      );
    expect((await train(specIn(dir), "--epochs", "1")).code).toBe(0);
    const resumed = await train(specIn(dir, commented), "--resume", "--epochs", "2");
    expect(resumed.stderr).toBe("");
    expect(resumed.code).toBe(0);
    const refused = await train(specIn(dir, changed), "--resume", "--epochs", "3");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/holds another run.*graph/);
  });
});

describe("which train config a plain train uses", () => {
  const config = (name: string, lr: number) =>
    `\ntrain ${name} {\n  optimizer sgd(lr = ${lr})\n  dataset "synthetic:16"\n}\n`;

  it("names the file's only config, and asks for one by name when there are several", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-config-"));
    const one = await runCli(
      "train",
      specIn(dir, tinyText + config("quick", 0.1)),
      "--epochs",
      "1",
      "--backend",
      "wasm",
      "--out",
      join(dir, "a"),
    );
    expect(one.code).toBe(0);
    expect(one.stderr).toMatch(/using train config quick \(the file's only one\)/);
    const file = specIn(dir, tinyText + config("quick", 0.1) + config("slow", 0.001));
    const two = await runCli("train", file, "--epochs", "1", "--out", join(dir, "b"));
    expect(two.code).toBe(1);
    expect(two.stderr).toMatch(/spec\.arch:\d+:7: error\[E0604\].*2 train configs \(quick, slow\)/);
    expect(two.stderr).toMatch(/--config quick/);
    const named = await runCli(
      "train",
      file,
      "--config",
      "slow",
      "--epochs",
      "1",
      "--backend",
      "wasm",
      "--out",
      join(dir, "c"),
      "--json",
    );
    expect(named.code).toBe(0);
    const sweep = await runCli(
      "sweep",
      file,
      "--sweep",
      "parts=1,2",
      "--measure",
      "train",
      "--out",
      join(dir, "d"),
    );
    expect(sweep.code).toBe(1);
    expect(sweep.stderr).toMatch(/E0604/);
  });
});
