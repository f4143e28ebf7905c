import type * as tf from "@tensorflow/tfjs";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { emitTypeScript } from "../../../compiler/backends/ts/emit.js";
import {
  buildNetwork,
  loadProgram,
  parseSets,
  pickNetwork,
} from "../../../compiler/language/program.js";
import type { NetworkDecl } from "../../../grammar/ast.js";
import { runCli } from "../../helpers.js";
import { compileAndImport, expectSpecError, layersModule, repo } from "./harness.js";

/**
 * `archc compile --target ts --set k=2.0`: the value a network was compiled at becomes the
 * generated default of its own kind. The language tells 2 from 2.0 (a float where a count is
 * needed is E0303), so a float set at compile time must stay a float in build(), and a float
 * default of the spec must not become an integer because the module was compiled from a graph.
 */
const file = "test/backends/ts/cases/floats.arch";
const dir = join(repo, "test", ".generated", "sets");

interface Generated {
  build(o?: Record<string, unknown>): tf.LayersModel;
}

/** The module generated after `--set`s, as `archc compile` generates it, imported. */
async function generate(stem: string, sets: readonly string[]): Promise<Generated> {
  const program = loadProgram(join(repo, file));
  const net = pickNetwork(program) as NetworkDecl;
  const parsed = parseSets(sets);
  const r = buildNetwork(program, net, parsed.args);
  if (!r.ok) throw new Error(r.diagnostics[0]!.message);
  const out = join(dir, `${stem}.ts`);
  writeFileSync(
    out,
    await emitTypeScript(program, net, {
      source: file,
      graph: r.graph,
      sets: parsed.args,
      layersModule,
    }),
  );
  return (await compileAndImport<Generated>([out]))[0]!;
}

/** The compiler's first diagnostic for these `--set`s. */
function diagnostic(sets: readonly string[]) {
  const program = loadProgram(join(repo, file));
  const net = pickNetwork(program) as NetworkDecl;
  const r = buildNetwork(program, net, parseSets(sets).args);
  expect(r.ok, sets.join(" ")).toBe(false);
  return r.ok ? undefined! : r.diagnostics[0]!;
}

function params(sets: readonly string[]): number {
  const program = loadProgram(join(repo, file));
  const net = pickNetwork(program) as NetworkDecl;
  const r = buildNetwork(program, net, parseSets(sets).args);
  if (!r.ok) throw new Error(r.diagnostics[0]!.message);
  return r.graph.totals.params.total;
}

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  await initBackend("cpu");
});

describe("--set values keep their kind in generated TypeScript", () => {
  it("compiled with --set k=2.0, build({ deep: true }) is the compiler's E0303", async () => {
    const m = await generate("float_k", ["k=2.0"]);
    expectSpecError(() => m.build({ deep: true }), diagnostic(["k=2.0", "deep=true"]));
    // What was not set keeps the spec's defaults: w is still the float 2.0.
    expectSpecError(() => m.build({ wide: true }), diagnostic(["k=2.0", "wide=true"]));
    expect(m.build().countParams()).toBe(params(["k=2.0"]));
  });

  it("compiled with --set k=3, build({ deep: true }) makes 24 filters, as the compiler", async () => {
    const m = await generate("int_k", ["k=3"]);
    const model = m.build({ deep: true });
    expect(model.countParams()).toBe(params(["k=3", "deep=true"]));
    expect(model.layers.find((l) => l.name === "conv")?.outputShape).toEqual([null, 8, 8, 24]);
  });

  it("compiled at the defaults from a graph, w's float default stays a float", async () => {
    const m = await generate("defaults", []);
    expectSpecError(() => m.build({ wide: true }), diagnostic(["wide=true"]));
  });

  it("archc compile --set k=2.0 writes k's default as a float", async () => {
    const r = await runCli("compile", join(repo, file), "--target", "ts", "--set", "k=2.0");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/k = num\.float\(2\.0\)/);
    expect(r.stdout).toMatch(/w = num\.float\(2\.0\)/);
  });
});
