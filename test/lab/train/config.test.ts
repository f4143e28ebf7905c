import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../helpers.js";

describe("train config values are checked like the CLI's flags", () => {
  it("each bad value is an error at its place in the spec (the first of each setting)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-config-"));
    const f = join(dir, "c.arch");
    writeFileSync(
      f,
      [
        "network n { input 8x8x1 -> gap -> dense 2 softmax }",
        "train t {",
        "  optimizer sgd(lr = -1, momentum = 2)",
        "  schedule exponential(rate = 3, every = 2 epochs)",
        "  weight_decay 1e999",
        "}",
        "train u {",
        "  optimizer sgd(momentum = 2)",
        "}",
        "train w {",
        "  optimizer adam(beta2 = 1, epsilon = 0)",
        "}",
        "",
      ].join("\n"),
    );
    const r = await runCli("check", f);
    expect(r.code).toBe(1);
    const lines = r.stderr.split("\n").filter((l) => l.includes("error["));
    expect(lines).toEqual([
      `${f}:3:22: error[E0303]: sgd: lr must be a positive number, e.g. lr = 0.045, not -1`,
      `${f}:4:31: error[E0303]: exponential: rate must be in (0, 1] (the factor the rate is multiplied by each period), not 3`,
      `${f}:5:16: error[E0303]: 'weight_decay' must be a number >= 0, not Infinity`,
      `${f}:8:28: error[E0303]: sgd: momentum must be in [0, 1), e.g. momentum = 0.9, not 2`,
      `${f}:11:26: error[E0303]: adam: beta2 must be in [0, 1), e.g. beta2 = 0.999, not 1`,
    ]);
  });
});
