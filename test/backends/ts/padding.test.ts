import * as tf from "@tensorflow/tfjs";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { emitTypeScript } from "../../../compiler/backends/ts/emit.js";
import { emitFlatTypeScript } from "../../../compiler/backends/ts/flat.js";
import { Builder } from "../../../compiler/layers.js";
import type { IRGraph } from "../../../compiler/language/ir/types.js";
import { loadProgram, pickNetwork } from "../../../compiler/language/program.js";
import type { NetworkDecl } from "../../../grammar/ast.js";
import { expectGolden } from "../../golden.js";
import { buildText } from "../../helpers.js";
import {
  compileAndImport,
  elaborate as elaborateAt,
  expectSameModel,
  expectSpecError,
  layersModule,
  repo,
  type Options,
} from "./harness.js";

/**
 * Structured TypeScript with explicit padding: `pad` on conv, sepconv and pools, and `zeropad`,
 * build the runtime's model (layer names, shapes, parameters, outputs on the same weights), and
 * the Builder's checks say what the compiler says.
 */
const file = "test/backends/ts/cases/padded.arch";
const outDir = join(repo, "test", ".generated", "padding");

interface Generated {
  build(options?: Options): tf.LayersModel;
}

const program = loadProgram(join(repo, file));
const net = pickNetwork(program, undefined) as NetworkDecl;

/** Pads are lists: `q = [1, 0, 2, 0]`, `p = [1, 0]`. */
function elaborate(o: Options): IRGraph {
  return elaborateAt(program, net, o, true);
}

let generated: Generated;
let flat: Generated;

beforeAll(async () => {
  mkdirSync(outDir, { recursive: true });
  await initBackend("wasm");
  const text = await emitTypeScript(program, net, {
    source: file,
    graph: elaborate({}),
    layersModule,
  });
  const out = join(outDir, "padded.ts");
  writeFileSync(out, text);
  // --flat: one statement per planned layer, MaxPadding2D imported from archc/layers.
  const flatOut = join(outDir, "padded_flat.ts");
  writeFileSync(flatOut, await emitFlatTypeScript(elaborate({}), { layersModule }));
  // A user's call with the lists `pad` takes: `p` defaults to 1 but is typed Pads, not number.
  const callOut = join(outDir, "padded_call.ts");
  writeFileSync(
    callOut,
    [
      'import { build } from "./padded.js";',
      "build({ p: [1, 0] }).dispose();",
      "build({ p: [1, 0, 2, 0], q: 2 }).dispose();",
      "",
    ].join("\n"),
  );
  const modules = await compileAndImport<Generated>([out, flatOut, callOut]);
  generated = modules[0]!;
  flat = modules[1]!;
});

describe("structured TypeScript with explicit padding", () => {
  it("the module is the golden one", async () => {
    const text = await emitTypeScript(program, net, { source: file, graph: elaborate({}) });
    expectGolden(join(repo, "test", "golden", "ts", "padded.ts.txt"), text);
  });

  it("build(options) is the runtime's model, outputs included", () => {
    for (const o of [{}, { p: 2, q: [1, 0, 2, 0] }, { p: [1, 0], q: 1, classes: 3 }] as Options[]) {
      const graph = elaborate(o);
      const runtime = buildModelFromIR(graph);
      const fromTs = generated.build(o);
      expectSameModel(fromTs, runtime, JSON.stringify(o), { graph });
      fromTs.dispose();
      runtime.dispose();
    }
  });

  it("--flat builds the runtime's model too: the padding layers are the plan's", () => {
    const graph = elaborate({});
    const runtime = buildModelFromIR(graph);
    const model = flat.build();
    expectSameModel(model, runtime, "flat", { graph });
    expect(runtime.layers.map((l) => l.getClassName())).toEqual(
      expect.arrayContaining(["ZeroPadding2D", "MaxPadding2D"]),
    );
    model.dispose();
    runtime.dispose();
  });

  it("the Builder's pad checks give the compiler's code and text", () => {
    const cases: { spec: string; call: (s: Builder, x: tf.SymbolicTensor) => unknown }[] = [
      {
        spec: "conv 3x3 4 padding = same pad = 1",
        call: (s, x) => s.layer("conv", x, { kernel: 3, filters: 4, padding: "same", pad: 1 }),
      },
      {
        spec: "maxpool 3x3 pad = [1, -1]",
        call: (s, x) => s.layer("maxpool", x, { pool: 3, pad: [1, -1] }),
      },
      {
        spec: "conv 3x3 4 pad = [1, 1, 1]",
        call: (s, x) => s.layer("conv", x, { kernel: 3, filters: 4, pad: [1, 1, 1] as never }),
      },
      {
        spec: "conv 9x9 4 pad = [0, 1, 0, 0]",
        call: (s, x) => s.layer("conv", x, { kernel: 9, filters: 4, pad: [0, 1, 0, 0] }),
      },
      {
        spec: "avgpool 2x2 pad = [0, 2, 0, 0]",
        call: (s, x) => s.layer("avgpool", x, { pool: 2, pad: [0, 2, 0, 0] }),
      },
    ];
    for (const c of cases) {
      const d = buildText(`network n {\n  input 8x8x3\n  ${c.spec}\n}`).diagnostics[0]!;
      const s = Builder.network("n");
      const x = s.input([8, 8, 3]);
      expectSpecError(() => c.call(s, x), d, c.spec);
    }
  });
});
