import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { emitTypeScript } from "../../../compiler/backends/ts/emit.js";
import { Float } from "../../../compiler/layers.js";
import {
  buildNetwork,
  loadProgram,
  parseSets,
  pickNetwork,
} from "../../../compiler/language/program.js";
import type { NetworkDecl } from "../../../grammar/ast.js";
import {
  compileAndImport,
  expectSameModel,
  expectSpecError,
  layersModule,
  repo,
} from "./harness.js";

/**
 * The language tells the integer 64 from the float 64.0 and JavaScript does not: generated
 * TypeScript must still compute what the compiler computes, of the same kind. For every operator
 * and function, the same spec at the same arguments either builds the same model in the compiler
 * and in generated `build()`, or fails in both with the same code, text and hint. A whole float
 * argument (`--set f=2.0`) is `Float` from archc/layers in `build()`.
 */
type Arg = number | boolean | Float;
type Args = Record<string, Arg>;

const file = "test/backends/ts/cases/kinds.arch";
let generated: { build(o?: Args): import("@tensorflow/tfjs").LayersModel };

beforeAll(async () => {
  await initBackend("cpu");
  const program = loadProgram(join(repo, file));
  const net = pickNetwork(program) as NetworkDecl;
  const dir = join(repo, "test", ".generated", "kinds");
  mkdirSync(dir, { recursive: true });
  const out = join(dir, "kinds.ts");
  writeFileSync(out, await emitTypeScript(program, net, { source: file, layersModule }));
  generated = (await compileAndImport<typeof generated>([out]))[0]!;
});

/** An argument as `--set` writes it: a whole Float with a decimal point. */
function setText(v: Arg): string {
  if (v instanceof Float) return Number.isInteger(v.value) ? `${v.value}.0` : String(v.value);
  return String(v);
}

/** Each case: `which` picks the branch; the other arguments are integers, floats or zero. */
const floats = [2, new Float(2), 2.5, 0, -1, new Float(0.5)];
const cases: Args[] = [];
for (let which = 0; which <= 19; which++) {
  for (const f of floats) cases.push({ which, f });
  cases.push({ which, c: 7 }, { which, c: new Float(8) }, { which, z: 0 }, { which, c: 0 });
}

describe("generated TypeScript computes the language's integers and floats", () => {
  const named = (o: Args) =>
    Object.entries(o)
      .map(([k, v]) => `${k}=${setText(v)}`)
      .join(" ");
  it.each(cases.map((o) => [named(o), o] as const))("%s", (what, o) => {
    const program = loadProgram(join(repo, file));
    const net = pickNetwork(program) as NetworkDecl;
    const sets = parseSets(Object.entries(o).map(([k, v]) => `${k}=${setText(v)}`));
    expect(sets.diagnostics).toEqual([]);
    const r = buildNetwork(program, net, sets.args);
    if (!r.ok) {
      expectSpecError(() => generated.build(o), r.diagnostics[0]!, what);
      return;
    }
    const runtime = buildModelFromIR(r.graph);
    const fromTs = generated.build(o);
    expectSameModel(fromTs, runtime, what, { graph: r.graph, outputs: false });
    fromTs.dispose();
    runtime.dispose();
  });

  it("both outcomes occur: the cases are not all failures or all successes", () => {
    const program = loadProgram(join(repo, file));
    const net = pickNetwork(program) as NetworkDecl;
    const codes = new Set<string>();
    for (const o of cases) {
      const sets = parseSets(Object.entries(o).map(([k, v]) => `${k}=${setText(v)}`));
      const r = buildNetwork(program, net, sets.args);
      codes.add(r.ok ? "ok" : r.diagnostics[0]!.code);
    }
    expect([...codes].sort()).toEqual(["E0303", "E0305", "E0501", "E0502", "E0504", "ok"]);
  });
});
