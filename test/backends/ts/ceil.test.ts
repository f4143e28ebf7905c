import * as tf from "@tensorflow/tfjs";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { emitFlatTypeScript } from "../../../compiler/backends/ts/flat.js";
import { Builder } from "../../../compiler/layers.js";
import { loadProgram, pickNetwork } from "../../../compiler/language/program.js";
import type { NetworkDecl } from "../../../grammar/ast.js";
import { buildText } from "../../helpers.js";
import {
  compileAndImport,
  elaborate,
  expectSameModel,
  expectSpecError,
  layersModule,
  repo,
  writeStructured,
  type Options,
} from "./harness.js";

/**
 * Structured and flat TypeScript with ceil-mode pools build the runtime's model (shapes,
 * parameters, outputs on the same weights), and the Builder refuses ceil beside 'same' with the
 * compiler's diagnostic.
 */
const file = "test/backends/ts/cases/ceil.arch";
const outDir = join(repo, "test", ".generated", "ceil");
const program = loadProgram(join(repo, file));
const net = pickNetwork(program, undefined) as NetworkDecl;

interface Generated {
  build(options?: Options): tf.LayersModel;
}
let generated: Generated;
let flat: Generated;

beforeAll(async () => {
  mkdirSync(outDir, { recursive: true });
  await initBackend("wasm");
  const out = await writeStructured(program, net, file, join(outDir, "ceiled.ts"));
  const flatOut = join(outDir, "ceiled_flat.ts");
  writeFileSync(flatOut, await emitFlatTypeScript(elaborate(program, net, {}), { layersModule }));
  [generated, flat] = (await compileAndImport<Generated>([out, flatOut])) as [Generated, Generated];
});

describe("TypeScript with ceil-mode pools", () => {
  it("build(options) is the runtime's model, in ceil mode and out of it", () => {
    for (const o of [{}, { c: false }] as Options[]) {
      const graph = elaborate(program, net, o);
      const runtime = buildModelFromIR(graph);
      const fromTs = generated.build(o);
      expectSameModel(fromTs, runtime, JSON.stringify(o), { graph });
      fromTs.dispose();
      runtime.dispose();
    }
  });

  it("--flat builds the runtime's model, with the average's divisor layer", () => {
    const graph = elaborate(program, net, {});
    const runtime = buildModelFromIR(graph);
    const model = flat.build();
    expectSameModel(model, runtime, "flat", { graph });
    expect(runtime.layers.map((l) => l.getClassName())).toEqual(
      expect.arrayContaining(["PoolDivisor", "MaxPadding2D"]),
    );
    model.dispose();
    runtime.dispose();
  });

  it("ceil beside padding 'same' throws the compiler's E0305", () => {
    const text = "network n {\n  input 8x8x3\n  maxpool 3x3/2 same ceil = true\n}\n";
    const d = buildText(text).diagnostics[0]!;
    const s = Builder.network("n");
    const x = s.input([8, 8, 3]);
    expectSpecError(
      () => s.layer("maxpool", x, { pool: [3, 3], stride: 2, padding: "same", ceil: true }),
      d,
    );
  });
});
