import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../helpers.js";

const repo = join(import.meta.dirname, "..", "..", "..");

describe("parts=all", () => {
  it("lists every divisor of what a pointwise-first sepconv's spatial step splits", async () => {
    // continuum's sepconv runs pointwise first, so `parts` splits its 192 filters, not the 64
    // input channels: 3 (Figure 3, the network's default), 6, 12... are valid and must appear.
    const out = mkdtempSync(join(tmpdir(), "archc-parts-"));
    const r = await runCli(
      "sweep",
      join(repo, "specs", "continuum.arch"),
      "--network",
      "continuum",
      "--sweep",
      "parts=all",
      "--measure",
      "params",
      "--json",
      "--out",
      out,
    );
    expect(r.code).toBe(0);
    const parts = (
      JSON.parse(r.stdout) as { results: { point: { parts: unknown } }[] }
    ).results.map((x) => x.point.parts);
    expect(parts).toEqual([1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 192, "depthwise"]);
  });
});
