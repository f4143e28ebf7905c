import { describe, expect, it } from "vitest";
import { codes } from "../../grammar/codes.js";
import { explanations } from "../../compiler/language/diagnostics/explanations.js";
import { runCli } from "../helpers.js";

describe("archc explain", () => {
  it("every code of the catalogue has a long explanation", () => {
    const missing = Object.keys(codes).filter(
      (c) => (explanations[c as keyof typeof codes]?.length ?? 0) < 40,
    );
    expect(missing).toEqual([]);
    // No explanation for a code the catalogue no longer has.
    expect(Object.keys(explanations).filter((c) => !(c in codes))).toEqual([]);
  });

  it("prints a code's title and explanation", async () => {
    const r = await runCli("explain", "E0400");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^E0400: channels not divisible by parts/);
    expect(r.stdout).toContain("nearest valid");
  });

  it("accepts lower case and lists every code without an argument", async () => {
    expect((await runCli("explain", "e0502")).stdout).toMatch(/^E0502:/);
    const all = await runCli("explain");
    expect(all.stdout.trim().split("\n")).toHaveLength(Object.keys(codes).length);
  });

  it("an unknown code is a usage error with the nearest code", async () => {
    const r = await runCli("explain", "E0499");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no diagnostic code 'E0499'");
    expect(r.stderr).toMatch(/did you mean 'E04\d\d'/);
  });

  it("the error count after diagnostics points at archc explain", async () => {
    const r = await runCli("summary", "specs/xception.arch", "--set", "parts=5");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("run `archc explain E0400`");
  });
});
