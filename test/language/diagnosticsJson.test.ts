import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { expectGolden } from "../golden.js";
import { runCli } from "../helpers.js";

const root = join(import.meta.dirname, "..", "golden", "diagnostics");

describe("diagnostics as JSON (golden)", () => {
  it("carry the hint and the call-site notes that the human form shows", async () => {
    const cwd = process.cwd();
    process.chdir(root);
    try {
      const r = await runCli("check", "cases/division_by_zero.arch", "--json");
      expect(r.code).toBe(1);
      const json = JSON.parse(r.stdout) as {
        files: { diagnostics: { notes?: { line?: number }[] }[] }[];
      };
      expect(json.files[0]!.diagnostics[0]!.notes?.[0]?.line).toBe(7);
      expectGolden(join(root, "json", "division_by_zero.json"), r.stdout);
    } finally {
      process.chdir(cwd);
    }
  });
});

describe("diagnostics about the command line (golden)", () => {
  it("E0603: a train config or experiment that the file does not declare, at the flag", async () => {
    const cwd = process.cwd();
    process.chdir(join(root, "..", "..", ".."));
    try {
      const config = await runCli("train", "specs/mini_xception.arch", "--config", "fashion_sdg");
      const experiment = await runCli("sweep", "specs/mini_xception.arch", "-e", "nope");
      expect([config.code, experiment.code]).toEqual([1, 1]);
      expectGolden(join(root, "cli", "E0603.txt"), config.stderr + experiment.stderr);
    } finally {
      process.chdir(cwd);
    }
  });
});
