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
 * Generated TypeScript for `shuffle` and `upsample`, both forms: the golden text, tsc --strict's
 * approval, and the runtime's model (names, shapes, parameters, outputs on the same weights) at
 * other arguments; an indivisible shuffle throws the compiler's diagnostic at build time.
 */
const specFile = "test/backends/ts/cases/shufflenet.arch";
const program = loadProgram(join(repo, specFile));
const net = pickNetwork(program) as NetworkDecl;

function elaborate(o: Options): IRGraph {
  return elaborateAt(program, net, o);
}

let structured: BothForms["structured"];
let flat: BothForms["flat"];

beforeAll(async () => {
  await initBackend("wasm");
  ({ structured, flat } = await emitBothForms(program, net, specFile, "rearrange", "shufflenet"));
});

describe("generated TypeScript with shuffle and upsample", () => {
  it("the structured and the flat module are the golden ones", async () => {
    expectGolden(
      join(repo, "test", "golden", "ts", "shufflenet.ts.txt"),
      await emitTypeScript(program, net, { source: specFile, graph: elaborate({}) }),
    );
    expectGolden(
      join(repo, "test", "golden", "ts", "shufflenet.flat.ts.txt"),
      await emitFlatTypeScript(elaborate({})),
    );
  });

  it("build(options) is the runtime's model at other groups and factors; --flat at the defaults", () => {
    for (const o of [
      {},
      { groups: 4, factor: [3, 1], mix: 3 },
      { groups: "regular", factor: 1 },
    ] as Options[]) {
      const graph = elaborate(o);
      const runtime = buildModelFromIR(graph);
      const fromTs = structured.build(o);
      expectSameModel(fromTs, runtime, JSON.stringify(o), { graph, tolerance: 1e-6 });
      fromTs.dispose();
      runtime.dispose();
    }
    const runtime = buildModelFromIR(elaborate({}));
    const fromFlat = flat.build();
    expectSameModel(fromFlat, runtime, "flat", { tolerance: 1e-6 });
    fromFlat.dispose();
    runtime.dispose();
  });

  it("groups that do not divide throw the compiler's diagnostic, code, text and hint", () => {
    // mix is the last shuffle's alone: 24 channels, not divisible by 5.
    const r = buildNetwork(program, net, parseSets(["mix=5"]).args);
    const d = !r.ok ? r.diagnostics[0]! : undefined;
    expect(d?.code).toBe("E0400");
    expect(d?.message).toBe("shuffle 'shuffle': 24 input channels are not divisible by groups = 5");
    expectSpecError(() => structured.build({ mix: 5 }), d!);
  });
});
