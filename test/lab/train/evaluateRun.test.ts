import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../../helpers.js";

const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

const spec = `network tiny(classes = 4) {
  input 8x8x3
  conv 3x3 4 -> bn -> relu
  gap -> dense classes softmax
}
`;

/** `archc eval`: the test set is read by it alone, and what it measures is recorded. */
describe("archc eval", () => {
  it("measures a run on its validation split as training did, and on the test set, recording both", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-eval-"));
    temps.push(dir);
    const file = join(dir, "tiny.arch");
    writeFileSync(file, spec);
    const out = join(dir, "run");
    const t = await runCli(
      "train",
      file,
      "--data",
      "synthetic:64",
      "--epochs",
      "2",
      "--batch",
      "16",
      "--out",
      out,
      "--quiet",
    );
    expect(t.code, t.stderr).toBe(0);
    const history = readFileSync(join(out, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { valAccuracy: number; valLoss: number });
    const val = await runCli("eval", out, "--split", "val", "--json", "--backend", "wasm");
    expect(val.code, val.stderr).toBe(0);
    const v = JSON.parse(val.stdout) as {
      split: string;
      accuracy: number;
      loss: number;
      data: string;
    };
    expect(v.split).toBe("val");
    expect(v.data).toBe("synthetic:64 (val)");
    expect(v.accuracy).toBeCloseTo(history[1]!.valAccuracy, 6);
    expect(v.loss).toBeCloseTo(history[1]!.valLoss, 4);
    const test = await runCli("eval", out, "--best", "--backend", "wasm");
    expect(test.code, test.stderr).toBe(0);
    expect(test.stdout).toMatch(
      /: test accuracy \d\.\d{4}, test loss \d+\.\d{4} on synthetic:64 \(test\) \(13 examples\), weights .*best\.bin; recorded in .*eval\.json/,
    );
    const recorded = JSON.parse(readFileSync(join(out, "eval.json"), "utf8")) as {
      evaluations: { split: string; best: boolean }[];
    };
    expect(recorded.evaluations.map((e) => [e.split, e.best])).toEqual([
      ["val", false],
      ["test", true],
    ]);
    const none = await runCli("eval", dir);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/archc eval: .* has no manifest\.json naming its spec/);
    const split = await runCli("eval", out, "--split", "train");
    expect(split.code).toBe(2);
  }, 180_000);
});
