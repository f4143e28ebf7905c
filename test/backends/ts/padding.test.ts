import * as tf from "@tensorflow/tfjs";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { emitTypeScript } from "../../../compiler/backends/ts/emit.js";
import { emitFlatTypeScript } from "../../../compiler/backends/ts/flat.js";
import { Builder, SpecError } from "../../../compiler/layers.js";
import type { IRGraph } from "../../../compiler/language/ir/types.js";
import {
  buildNetwork,
  loadProgram,
  parseSets,
  pickNetwork,
} from "../../../compiler/language/program.js";
import type { NetworkDecl } from "../../../grammar/ast.js";
import { expectGolden } from "../../golden.js";
import { buildText } from "../../helpers.js";

/**
 * Structured TypeScript with explicit padding: `pad` on conv, sepconv and pools, and `zeropad`,
 * build the runtime's model (layer names, shapes, parameters, outputs on the same weights), and
 * the Builder's checks say what the compiler says.
 */
const repo = join(import.meta.dirname, "..", "..", "..");
const file = "test/backends/ts/cases/padded.arch";
const outDir = join(repo, "test", ".generated", "padding");

type Options = Record<string, number | readonly number[]>;
interface Generated {
  build(options?: Options): tf.LayersModel;
}

const program = loadProgram(join(repo, file));
const net = pickNetwork(program, undefined) as NetworkDecl;

function elaborate(o: Options): IRGraph {
  const sets = parseSets(
    Object.entries(o).map(([k, v]) => `${k}=${Array.isArray(v) ? `[${v.join(", ")}]` : v}`),
  );
  expect(sets.diagnostics).toEqual([]);
  const r = buildNetwork(program, net, sets.args);
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join("; "));
  return r.graph;
}

let generated: Generated;
let flat: Generated;

beforeAll(async () => {
  mkdirSync(outDir, { recursive: true });
  await initBackend("wasm");
  const text = await emitTypeScript(program, net, {
    source: file,
    graph: elaborate({}),
    layersModule: "../../../compiler/layers.js",
  });
  const out = join(outDir, "padded.ts");
  writeFileSync(out, text);
  // --flat: one statement per planned layer, MaxPadding2D imported from archc/layers.
  const flatOut = join(outDir, "padded_flat.ts");
  writeFileSync(
    flatOut,
    await emitFlatTypeScript(elaborate({}), { layersModule: "../../../compiler/layers.js" }),
  );
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
      out,
      flatOut,
      callOut,
    ],
    { cwd: repo, stdio: "pipe" },
  );
  generated = (await import(pathToFileURL(out).href)) as Generated;
  flat = (await import(pathToFileURL(flatOut).href)) as Generated;
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
      const what = JSON.stringify(o);
      expect(
        fromTs.layers.map((l) => l.name),
        what,
      ).toEqual(runtime.layers.map((l) => l.name));
      expect(
        fromTs.layers.map((l) => JSON.stringify(l.outputShape)),
        what,
      ).toEqual(runtime.layers.map((l) => JSON.stringify(l.outputShape)));
      expect(fromTs.countParams(), what).toBe(graph.totals.params.total);
      for (const layer of runtime.layers)
        fromTs.getLayer(layer.name).setWeights(layer.getWeights());
      const x = tf.randomNormal([2, ...graph.input], 0, 1, "float32", 4);
      const a = runtime.predict(x) as tf.Tensor;
      const b = fromTs.predict(x) as tf.Tensor;
      expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0], what).toBeLessThan(1e-5);
      tf.dispose([x, a, b]);
      fromTs.dispose();
      runtime.dispose();
    }
  });

  it("--flat builds the runtime's model too: the padding layers are the plan's", () => {
    const graph = elaborate({});
    const runtime = buildModelFromIR(graph);
    const model = flat.build();
    expect(model.layers.map((l) => `${l.name}:${l.getClassName()}`)).toEqual(
      runtime.layers.map((l) => `${l.name}:${l.getClassName()}`),
    );
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
        call: (s, x) => s.conv(x, { kernel: 3, filters: 4, padding: "same", pad: 1 }),
      },
      {
        spec: "maxpool 3x3 pad = [1, -1]",
        call: (s, x) => s.maxpool(x, { pool: 3, pad: [1, -1] }),
      },
      {
        spec: "conv 3x3 4 pad = [1, 1, 1]",
        call: (s, x) => s.conv(x, { kernel: 3, filters: 4, pad: [1, 1, 1] as never }),
      },
      {
        spec: "conv 9x9 4 pad = [0, 1, 0, 0]",
        call: (s, x) => s.conv(x, { kernel: 9, filters: 4, pad: [0, 1, 0, 0] }),
      },
      {
        spec: "avgpool 2x2 pad = [0, 2, 0, 0]",
        call: (s, x) => s.avgpool(x, { pool: 2, pad: [0, 2, 0, 0] }),
      },
    ];
    for (const c of cases) {
      const d = buildText(`network n {\n  input 8x8x3\n  ${c.spec}\n}`).diagnostics[0]!;
      const s = Builder.network("n");
      const x = s.input([8, 8, 3]);
      let thrown: unknown;
      try {
        c.call(s, x);
      } catch (e) {
        thrown = e;
      }
      expect(thrown, c.spec).toBeInstanceOf(SpecError);
      const e = thrown as SpecError;
      expect([e.code, e.diagnostic, e.hint], c.spec).toEqual([d.code, d.message, d.hint]);
    }
  });
});
