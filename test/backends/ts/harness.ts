import * as tf from "@tensorflow/tfjs";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { expect } from "vitest";
import { Float, SpecError } from "../../../compiler/layers.js";
import { toJson, type Value } from "../../../compiler/language/elaborate/values.js";
import { emitFlatTypeScript } from "../../../compiler/backends/ts/flat.js";
import { emitTypeScript } from "../../../compiler/backends/ts/emit.js";
import type { IRGraph } from "../../../compiler/language/ir/types.js";
import { buildNetwork, parseSets, type Program } from "../../../compiler/language/program.js";
import type { NetworkDecl } from "../../../grammar/ast.js";
import type { Diagnostic } from "../../../grammar/diagnostic.js";

/**
 * What the generated-TypeScript tests share: a network elaborated at the options its `build()`
 * takes, tsc --strict over the generated modules, and the check that a generated model is the
 * runtime's (layers, shapes, parameters, outputs on the same weights).
 */
export const repo = join(import.meta.dirname, "..", "..", "..");

/** `archc/layers` as a module written one folder under test/.generated imports it. */
export const layersModule = "../../../compiler/layers.js";

/** A generated `build(options)`'s options: what `--set` gives the compiler. */
export type Options = Record<string, number | string | boolean | readonly number[]>;

/**
 * The network at `o`, each option passed as `--set`: arrays as sizes (`3x3`), or as lists
 * (`[1, 0, 2, 0]`, as `pad` takes them) when `lists` is set.
 */
export function elaborate(program: Program, net: NetworkDecl, o: Options, lists = false): IRGraph {
  const sets = parseSets(
    Object.entries(o).map(([k, v]) => {
      if (!Array.isArray(v)) return `${k}=${String(v)}`;
      return `${k}=${lists ? `[${v.join(", ")}]` : v.join("x")}`;
    }),
  );
  expect(sets.diagnostics).toEqual([]);
  const r = buildNetwork(program, net, sets.args);
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join("; "));
  return r.graph;
}

/**
 * The network's structured TypeScript (`build(options)`, importing this repo's archc/layers),
 * its IR at the defaults, written to `out`; returns `out`, for compileAndImport.
 */
export async function writeStructured(
  program: Program,
  net: NetworkDecl,
  source: string,
  out: string,
): Promise<string> {
  const graph = elaborate(program, net, {});
  writeFileSync(out, await emitTypeScript(program, net, { source, graph, layersModule }));
  return out;
}

/** A generated `build(options)` module and a `--flat` one, as imported. */
export interface BothForms {
  structured: { build(o?: Options): tf.LayersModel };
  flat: { build(): tf.LayersModel };
}

/**
 * The network's structured and flat TypeScript at its defaults, written as `STEM.ts` and
 * `STEM_flat.ts` under test/.generated/DIR, then compiled and imported by compileAndImport.
 */
export async function emitBothForms(
  program: Program,
  net: NetworkDecl,
  specFile: string,
  dir: string,
  stem: string,
): Promise<BothForms> {
  const outDir = join(repo, "test", ".generated", dir);
  mkdirSync(outDir, { recursive: true });
  const graph = elaborate(program, net, {});
  const files = [join(outDir, `${stem}.ts`), join(outDir, `${stem}_flat.ts`)];
  writeFileSync(
    files[0]!,
    await emitTypeScript(program, net, { source: specFile, graph, layersModule }),
  );
  writeFileSync(files[1]!, await emitFlatTypeScript(graph, { layersModule }));
  const [structured, flat] = await compileAndImport<BothForms["structured"] & BothForms["flat"]>(
    files,
  );
  return { structured: structured!, flat: flat! };
}

/**
 * tsc --strict over generated modules, as a user's project would compile them; then each
 * module, imported. tsc's complaints (on stdout) become the error.
 */
export async function compileAndImport<T>(files: readonly string[]): Promise<T[]> {
  try {
    execFileSync(
      process.execPath,
      [
        join(repo, "node_modules", "typescript", "bin", "tsc"),
        "--noEmit",
        "--strict",
        "--skipLibCheck",
        "--target",
        "es2022",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        ...files,
      ],
      { cwd: repo, stdio: "pipe" },
    );
  } catch (e) {
    const out = (e as { stdout?: Buffer }).stdout?.toString() ?? "";
    throw new Error(`tsc --strict refused the generated code:\n${out}${(e as Error).message}`);
  }
  const modules: T[] = [];
  for (const file of files) modules.push((await import(pathToFileURL(file).href)) as T);
  return modules;
}

/**
 * The generated model is the runtime's: the same layer names, classes and output shapes, the
 * same parameter count (the IR's, given `graph`), and unless `outputs` is false the same outputs
 * (max abs difference below `tolerance`) once the runtime's weights move across by layer name.
 */
export function expectSameModel(
  fromTs: tf.LayersModel,
  runtime: tf.LayersModel,
  what: string,
  {
    graph,
    outputs = true,
    tolerance = 1e-5,
  }: { graph?: IRGraph; outputs?: boolean; tolerance?: number } = {},
): void {
  expect(
    fromTs.layers.map((l) => [l.name, l.getClassName(), JSON.stringify(l.outputShape)]),
    what,
  ).toEqual(runtime.layers.map((l) => [l.name, l.getClassName(), JSON.stringify(l.outputShape)]));
  expect(fromTs.countParams(), what).toBe(runtime.countParams());
  if (graph) expect(fromTs.countParams(), what).toBe(graph.totals.params.total);
  if (!outputs) return;
  // The names are the mapping.
  for (const layer of runtime.layers) fromTs.getLayer(layer.name).setWeights(layer.getWeights());
  const x = tf.randomNormal([2, ...(runtime.inputs[0]!.shape.slice(1) as number[])]);
  const a = runtime.predict(x) as tf.Tensor;
  const b = fromTs.predict(x) as tf.Tensor;
  expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0], what).toBeLessThan(tolerance);
  tf.dispose([x, a, b]);
}

/**
 * `call` (a Builder method, a generated `build()`) throws the compiler's diagnostic `d` as
 * archc/layers' SpecError: the same code, text and hint. Returns the error.
 */
export function expectSpecError(call: () => unknown, d: Diagnostic, what?: string): SpecError {
  let thrown: unknown;
  try {
    call();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, what).toBeInstanceOf(SpecError);
  const e = thrown as SpecError;
  expect([e.code, e.diagnostic, e.hint], what).toEqual([d.code, d.message, d.hint]);
  return e;
}

/**
 * `--set` texts as the options of a generated `build()`: the values the compiler binds, a whole
 * float as archc/layers' Float (`wm=2.0`), sizes and lists as arrays.
 */
export function setsAsOptions(sets: readonly string[]): Record<string, unknown> {
  const option = (v: Value): unknown => {
    if (v.t === "float" && Number.isInteger(v.v)) return new Float(v.v);
    if (v.t === "list") return v.items.map(option);
    return toJson(v);
  };
  const parsed = parseSets(sets);
  expect(parsed.diagnostics).toEqual([]);
  return Object.fromEntries(parsed.args.map((a) => [a.name, option(a.value)]));
}
