import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { emitFlatTypeScript } from "../../../compiler/backends/ts/flat.js";
import { emitTypeScript } from "../../../compiler/backends/ts/emit.js";
import type { IRGraph } from "../../../compiler/language/ir/types.js";
import {
  buildNetwork,
  loadProgram,
  parseSets,
  pickNetwork,
} from "../../../compiler/language/program.js";
import type { NetworkDecl } from "../../../grammar/ast.js";
import { expectGolden } from "../../golden.js";
import {
  elaborate as elaborateAt,
  emitBothForms,
  expectSameModel,
  expectSpecError,
  repo,
  type BothForms,
  type Options,
} from "./harness.js";

/**
 * Generated TypeScript for ConvNeXt's layers (layernorm, gelu, layerscale, droppath), both
 * forms: the golden text, tsc --strict's approval, and the runtime's model (names, shapes,
 * parameters, outputs on the same weights) at other arguments; a bad droppath rate throws the
 * compiler's diagnostic at build time.
 */
const specFile = "test/backends/ts/cases/convnext.arch";
const program = loadProgram(join(repo, specFile));
const net = pickNetwork(program) as NetworkDecl;

function elaborate(o: Options): IRGraph {
  return elaborateAt(program, net, o);
}

let structured: BothForms["structured"];
let flat: BothForms["flat"];

beforeAll(async () => {
  await initBackend("wasm");
  ({ structured, flat } = await emitBothForms(program, net, specFile, "convnext", "convnext"));
});

describe("generated TypeScript with ConvNeXt's layers", () => {
  it("the structured and the flat module are the golden ones", async () => {
    expectGolden(
      join(repo, "test", "golden", "ts", "convnext.ts.txt"),
      await emitTypeScript(program, net, { source: specFile, graph: elaborate({}) }),
    );
    expectGolden(
      join(repo, "test", "golden", "ts", "convnext.flat.ts.txt"),
      await emitFlatTypeScript(elaborate({})),
    );
  });

  it("build(options) is the runtime's model at other arguments; --flat at the defaults", () => {
    for (const o of [{}, { drop: 0, scale: 2, parts: 4, width: 8, classes: 3 }] as Options[]) {
      const graph = elaborate(o);
      const runtime = buildModelFromIR(graph);
      const fromTs = structured.build(o);
      expectSameModel(fromTs, runtime, JSON.stringify(o), { graph, tolerance: 1e-5 });
      fromTs.dispose();
      runtime.dispose();
    }
    const runtime = buildModelFromIR(elaborate({}));
    const fromFlat = flat.build();
    expectSameModel(fromFlat, runtime, "flat", { tolerance: 1e-5 });
    fromFlat.dispose();
    runtime.dispose();
  });

  it("a droppath rate of 1 throws the compiler's diagnostic, code and text", () => {
    const r = buildNetwork(program, net, parseSets(["drop=1"]).args);
    const d = !r.ok ? r.diagnostics[0]! : undefined;
    expect(d?.code).toBe("E0305");
    expect(d?.message).toMatch(/^droppath '.*droppath': rate must be in \[0, 1\), not 1/);
    expectSpecError(() => structured.build({ drop: 1 }), d!);
  });
});
