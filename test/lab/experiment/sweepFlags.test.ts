import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../helpers.js";

const repo = join(import.meta.dirname, "..", "..", "..");
const tiny = join(repo, "examples", "tiny.arch");
const stages = join(import.meta.dirname, "stages.arch");
const tmp = () => mkdtempSync(join(tmpdir(), "archc-sweepflags-"));

interface Row {
  variant: string;
  point: Record<string, unknown>;
  identity: { args: Record<string, { v: unknown }>; train?: Record<string, unknown> };
  train?: { epochs: number };
}
const rows = (stdout: string) => (JSON.parse(stdout) as { results: Row[] }).results;

describe("sweep flags the search needs", () => {
  it("--lr, --batch and --steps reach training and the identity; --steps is a budget in steps", async () => {
    const r = await runCli(
      "sweep",
      tiny,
      "--sweep",
      "parts=1",
      "--measure",
      "train",
      "--data",
      "synthetic:16",
      "--lr",
      "0.5",
      "--batch",
      "4",
      "--steps",
      "9",
      "--backend",
      "wasm",
      "--out",
      tmp(),
      "--json",
      "--quiet",
    );
    expect(r.code).toBe(0);
    const [row] = rows(r.stdout);
    // synthetic:16 trains on 16 examples: 4 steps an epoch at batch 4, so 9 steps take 3 epochs.
    expect(row!.train!.epochs).toBe(3);
    const train = row!.identity.train as {
      optimizer: { lr: number };
      batch: number;
      steps: number;
    };
    expect([train.optimizer.lr, train.batch, train.steps]).toEqual([0.5, 4, 9]);
    const both = await runCli("sweep", tiny, "--sweep", "parts=1", "--epochs", "1", "--steps", "2");
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--epochs or --steps/);
  });

  it("tied axes move together: p2=p3=1,4 is one axis with both columns", async () => {
    const r = await runCli(
      "sweep",
      stages,
      "--sweep",
      "p1=1,2",
      "--sweep",
      "p2=p3=1,4",
      "--out",
      tmp(),
      "--json",
    );
    expect(r.code).toBe(0);
    const got = rows(r.stdout).map((x) => [x.point["p1"], x.point["p2"], x.point["p3"]]);
    expect(got).toEqual([
      [1, 1, 1],
      [1, 4, 4],
      [2, 1, 1],
      [2, 4, 4],
    ]);
    const twice = await runCli("sweep", stages, "--sweep", "p2=1", "--sweep", "p3=p2=4");
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/p2 is already an axis/);
  });
});
