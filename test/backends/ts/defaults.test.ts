import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { emitTypeScript } from "../../../compiler/backends/ts/emit.js";
import { loadProgram, pickNetwork } from "../../../compiler/language/program.js";
import type { NetworkDecl } from "../../../grammar/ast.js";
import { expectGolden } from "../../golden.js";
import {
  compileAndImport,
  elaborate,
  expectSameModel,
  layersModule,
  repo,
  type Options,
} from "./harness.js";

/**
 * `defaults bn(...)` in a branch, a repeat, an if and a residual body as well as at the top:
 * generated `build()` makes the compiler's model, batch norms with the compiler's epsilon,
 * momentum, scale and center, layer by layer.
 */
const file = "test/backends/ts/cases/defaults.arch";
let generated: { build(o?: Options): import("@tensorflow/tfjs").LayersModel };
let text: string;

beforeAll(async () => {
  await initBackend("cpu");
  const program = loadProgram(join(repo, file));
  const net = pickNetwork(program) as NetworkDecl;
  const dir = join(repo, "test", ".generated", "defaults");
  mkdirSync(dir, { recursive: true });
  const out = join(dir, "defaults.ts");
  text = await emitTypeScript(program, net, { source: file, layersModule });
  writeFileSync(out, text);
  generated = (await compileAndImport<typeof generated>([out]))[0]!;
});

/** Each batch norm's settings as the IR has them and as the tfjs model has them. */
function bnSettings(model: import("@tensorflow/tfjs").LayersModel): unknown[] {
  return model.layers
    .filter((l) => l.getClassName() === "BatchNormalization")
    .map((l) => {
      const c = l.getConfig();
      return [l.name, c["epsilon"], c["momentum"], c["scale"], c["center"]];
    });
}

describe("defaults in nested bodies in generated TypeScript", () => {
  it("the module is the golden one", async () => {
    const program = loadProgram(join(repo, file));
    const net = pickNetwork(program) as NetworkDecl;
    expectGolden(
      join(repo, "test", "golden", "ts", "defaults.ts.txt"),
      await emitTypeScript(program, net, { source: file }),
    );
    expect(text).toContain("withDefaults");
  });

  it.each([{}, { deep: false }, { eps: 0.01 }] as Options[])("build(%j) is the compiler's", (o) => {
    const program = loadProgram(join(repo, file));
    const net = pickNetwork(program) as NetworkDecl;
    const graph = elaborate(program, net, o);
    const runtime = buildModelFromIR(graph);
    const fromTs = generated.build(o);
    expectSameModel(fromTs, runtime, JSON.stringify(o), { graph, outputs: false });
    const settings = bnSettings(fromTs);
    expect(settings).toEqual(bnSettings(runtime));
    // The IR's own numbers, so the check does not rest on the two tfjs models alone.
    const ir = graph.nodes
      .filter((n) => n.op === "bn")
      .map((n) => [n.name, (n.attrs as { epsilon: number }).epsilon]);
    expect(settings.map((s) => [(s as unknown[])[0], (s as unknown[])[1]])).toEqual(ir);
    // Scoped: the defaults of one body do not leak into the next.
    expect(new Set(settings.map((s) => JSON.stringify((s as unknown[]).slice(1)))).size).toBe(
      o.deep === false ? 6 : 7,
    );
    fromTs.dispose();
    runtime.dispose();
  });
});
