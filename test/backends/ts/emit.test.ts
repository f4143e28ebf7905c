import type * as tf from "@tensorflow/tfjs";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { emitFlatTypeScript } from "../../../compiler/backends/ts/flat.js";
import { compileSpec } from "../../../compiler/index.js";
import { expectGolden } from "../../golden.js";
import { runCli } from "../../helpers.js";
import { compileAndImport, expectSameModel, repo } from "./harness.js";

const outDir = join(repo, "test", ".generated");
const layersModule = (from: string) => {
  const rel = relative(from, join(repo, "compiler", "backends", "tfjs", "grouped", "index.js"));
  return rel.startsWith(".") ? rel : `./${rel}`;
};

beforeAll(async () => {
  mkdirSync(outDir, { recursive: true });
  process.env["ARCHC_CACHE_DIR"] = join(outDir, "cache");
  await initBackend("wasm");
});

describe("TypeScript backend", () => {
  it("--flat: generates the same module as the golden file for the tiny example", async () => {
    const g = compileSpec(join(repo, "examples", "tiny.arch"));
    expectGolden(
      join(repo, "test", "golden", "ts", "tiny.flat.ts.txt"),
      await emitFlatTypeScript(g, { source: "examples/tiny.arch" }),
    );
  });

  for (const [spec, module] of [
    ["specs/xception.arch", "xception.ts"],
    ["specs/mini_xception.arch", "mini_xception.ts"],
  ] as const) {
    it(`the committed examples/generated/${module} is what archc compile --target ts writes now`, async () => {
      const r = await runCli("compile", join(repo, spec), "--target", "ts");
      expect(r.code).toBe(0);
      const committed = readFileSync(join(repo, "examples", "generated", module), "utf8");
      // The spec's path as given, in the header and in the sites table: as from the repository.
      expect(r.stdout.replaceAll(`${join(repo, "specs")}/`, "specs/")).toBe(committed);
    });
  }

  it("--set values become the generated defaults; the rest keep the spec's expressions", async () => {
    const r = await runCli(
      "compile",
      join(repo, "specs", "mini_xception.arch"),
      "-t",
      "ts",
      "--set",
      "parts=4",
      "--set",
      "mid=relu",
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\n {4}parts = 4,\n {4}mid = "relu",\n/);
    expect(r.stdout).toMatch(/\n {4}classes = 10,\n/);
    expect(r.stdout).toMatch(
      // width may be a float (--set width=1.5): the language's `*`, not JavaScript's.
      /entry\(s\.block\("entry", at\[\d+\]\), x, num\.mul\(width, 2\), \{ first: true, parts, mid, residual \}\)/,
    );
  });

  it("--flat writes one statement per layer; the structured form one function per block", async () => {
    const flat = await runCli(
      "compile",
      join(repo, "specs", "xception.arch"),
      "-t",
      "ts",
      "--flat",
    );
    const structured = await runCli("compile", join(repo, "specs", "xception.arch"), "-t", "ts");
    expect(flat.code).toBe(0);
    expect(flat.stdout).toMatch(/const exit_sep_unit_1_sepconv = apply\(/);
    expect(flat.stdout).not.toMatch(/export function entry\(/);
    expect(structured.stdout).toMatch(/export function entry\(/);
    const lines = (t: string) => t.split("\n").length;
    expect(lines(structured.stdout)).toBeLessThanOrEqual(350);
    expect(lines(flat.stdout)).toBeGreaterThan(3 * lines(structured.stdout));
  });

  it("--flat: mini Xception with tsc's approval builds the runtime's model: names, params, outputs", async () => {
    const g = compileSpec(join(repo, "specs", "mini_xception.arch"), {
      args: { parts: 4, mid: "relu" },
    });
    const file = join(outDir, "mini_xception_flat.ts");
    writeFileSync(file, await emitFlatTypeScript(g, { layersModule: layersModule(outDir) }));
    const [generated] = await compileAndImport<{
      build(): tf.LayersModel;
      figures: { params: number };
    }>([file]);
    const fromTs = generated!.build();
    const runtime = buildModelFromIR(g);
    expect(generated!.figures.params).toBe(g.totals.params.total);
    expectSameModel(fromTs, runtime, "mini_xception --flat", { graph: g, tolerance: 1e-6 });
    fromTs.dispose();
    runtime.dispose();
  });
});
