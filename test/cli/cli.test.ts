import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { validateIR } from "../../compiler/language/ir/validate.js";
import { runCli } from "../helpers.js";

const repo = join(import.meta.dirname, "..", "..");
const tiny = join(repo, "examples", "tiny.arch");
const xception = join(repo, "specs", "xception.arch");

describe("archc check", () => {
  it("exit 0 on clean files, 1 on diagnostics, 2 on usage errors", async () => {
    expect((await runCli("check", tiny, xception)).code).toBe(0);
    const bad = join(repo, "test", "golden", "diagnostics", "cases", "unknown_name.arch");
    const r = await runCli("check", tiny, bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown_name\.arch:2:12: error\[E0203\]/);
    expect((await runCli("check")).code).toBe(2);
    expect((await runCli("frobnicate")).code).toBe(2);
    expect((await runCli("check", "--no-such-flag", tiny)).code).toBe(2);
  });

  it("reports a missing file as a diagnostic, not a crash", async () => {
    const r = await runCli("check", "/nonexistent/x.arch");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/E0100/);
  });

  it("--help works on every command", async () => {
    for (const cmd of ["check", "summary", "compile", "fmt", "list"]) {
      const r = await runCli(cmd, "--help");
      expect(r.code, cmd).toBe(0);
      expect(r.stdout, cmd).toMatch(/Usage: archc/);
    }
  });
});

describe("archc summary", () => {
  it("prints a Keras-like table with totals", async () => {
    const r = await runCli("summary", tiny);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Layer \(op\)\s+Output shape\s+Parts\s+Params\s+MACs/);
    expect(r.stdout).toMatch(/unit\/conv \(conv 3x3\)\s+15x15x32\s+2\s+2,304/);
    expect(r.stdout).toMatch(/Total params: 5,770/);
  });

  it("--json gives the documented fields", async () => {
    const r = await runCli("summary", xception, "--json");
    const s = JSON.parse(r.stdout) as Record<string, unknown> & {
      params: Record<string, number>;
      layers: unknown[];
    };
    expect(Object.keys(s)).toEqual(
      expect.arrayContaining(["network", "input", "output", "params", "macs", "layers"]),
    );
    expect(s.params).toEqual({ total: 22910480, trainable: 22855952, nonTrainable: 54528 });
    expect(s["input"]).toEqual([299, 299, 3]);
    expect(s["output"]).toEqual([1000]);
  });

  it("--set moves Xception along the continuum; params fall as parts rises", async () => {
    const totals: number[] = [];
    for (const parts of ["regular", "4", "8", "depthwise"]) {
      const r = await runCli("summary", xception, "--set", `parts=${parts}`, "--json");
      expect(r.code, parts).toBe(0);
      totals.push((JSON.parse(r.stdout) as { params: { total: number } }).params.total);
    }
    for (let i = 1; i < totals.length; i++) expect(totals[i]!).toBeLessThan(totals[i - 1]!);
  });

  it("a parts value that does not divide a layer is an error naming the layer and nearest values", async () => {
    const r = await runCli("summary", xception, "--set", "parts=5");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/E0400.*entry\/sep_unit\/sepconv.*parts = 5/);
    expect(r.stderr).toMatch(/nearest valid values are 4 and 8/);
  });

  it("bad --set values and unknown parameters are diagnostics", async () => {
    expect((await runCli("summary", xception, "--set", "parts")).stderr).toMatch(/E0601/);
    expect((await runCli("summary", xception, "--set", "prts=4")).stderr).toMatch(
      /no parameter 'prts'.*\n[\s\S]*did you mean 'parts'/,
    );
    expect((await runCli("summary", xception, "--set", "parts=)")).code).toBe(1);
    expect((await runCli("summary", xception, "--network", "nope")).stderr).toMatch(/E0600/);
  });
});

describe("archc compile --target json", () => {
  it("writes schema-valid IR atomically to -o", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-"));
    const out = join(dir, "sub", "x.json");
    const r = await runCli("compile", tiny, "--target", "json", "-o", out);
    expect(r.code).toBe(0);
    expect(validateIR(JSON.parse(readFileSync(out, "utf8")))).toEqual([]);
    expect(readdirSync(join(dir, "sub"))).toEqual(["x.json"]);
  });

  it("leaves an existing output untouched when the spec has errors", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-"));
    const out = join(dir, "x.json");
    writeFileSync(out, "previous");
    const bad = join(repo, "test", "golden", "diagnostics", "cases", "add_mismatch.arch");
    expect((await runCli("compile", bad, "-o", out)).code).toBe(1);
    expect(readFileSync(out, "utf8")).toBe("previous");
  });

  it("rejects an unknown target as a usage error", async () => {
    expect((await runCli("compile", tiny, "--target", "wat")).code).toBe(2);
  });
});

describe("archc run", () => {
  it("times forward passes on the embedded backend and names it", async () => {
    const r = await runCli(
      "run",
      tiny,
      "--backend",
      "wasm",
      "--batch",
      "2",
      "--runs",
      "2",
      "--json",
    );
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(res).toMatchObject({ backend: "wasm", batch: 2, params: 5770 });
    expect(res["medianMs"] as number).toBeGreaterThan(0);
    expect(res["imagesPerSec"] as number).toBeGreaterThan(0);
    expect((await runCli("run", tiny, "--batch", "0")).code).toBe(2);
  });

  it("says which path computes the forward pass: the inference program, or tf.layers on request", async () => {
    const common = [
      "run",
      tiny,
      "--backend",
      "wasm",
      "--batch",
      "2",
      "--runs",
      "1",
      "--warmup",
      "0",
    ];
    const program = await runCli(...common);
    expect(program.code).toBe(0);
    expect(program.stdout).toMatch(
      /\(inference program: \d+ steps for \d+ layers, \d+ batch norms folded/,
    );
    const layers = await runCli(...common, "--inference", "layers", "--json");
    expect(layers.code).toBe(0);
    expect(JSON.parse(layers.stdout)).toMatchObject({ inference: "layers" });
    expect((await runCli(...common, "--inference", "graph")).code).toBe(2);
  });
});

describe("archc fmt and list", () => {
  it("fmt rewrites, --check reports", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-"));
    const f = join(dir, "m.arch");
    writeFileSync(f, "network n {\n    input 4x4x1\n  relu->elu\n}\n");
    expect((await runCli("fmt", "--check", f)).code).toBe(1);
    expect((await runCli("fmt", f)).code).toBe(0);
    expect(readFileSync(f, "utf8")).toBe("network n {\n  input 4x4x1\n  relu -> elu\n}\n");
    expect((await runCli("fmt", "--check", f)).code).toBe(0);
    expect(existsSync(f)).toBe(true);
  });

  it("list shows networks with their arguments", async () => {
    const r = await runCli("list", xception);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/xception\(classes = 1000, size = 299, parts = depthwise/);
    expect(r.stdout).toMatch(/entry\(filters, first = false/);
  });

  it("list shows a train config's augmentation and evaluation crop", async () => {
    const r = await runCli("list", join(repo, "specs", "experiments.arch"));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /imagenet_xception: .*, augment=inception\(scale=0\.08\.\.1, ratio=0\.75\.\.1\.3333, flip=true\), eval_crop=0\.875/,
    );
    expect(r.stdout).not.toMatch(/jft_rmsprop: .*augment=/);
  });

  it("list shows a train config's label smoothing and batch-norm momentum where set", async () => {
    const f = join(mkdtempSync(join(tmpdir(), "archc-list-")), "t.arch");
    writeFileSync(
      f,
      "network n {\n  input 4x4x1\n  relu\n}\ntrain smooth {\n  label_smoothing 0.1\n  bn_momentum 0.01\n}\ntrain plain {\n  batch 8\n}\n",
    );
    const r = await runCli("list", f);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/smooth: .*, label_smoothing=0\.1, bn_momentum=0\.01/);
    expect(r.stdout).not.toMatch(/plain: .*(label_smoothing|bn_momentum)/);
  });
});
