import type * as tf from "@tensorflow/tfjs";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import {
  buildNetwork,
  loadProgram,
  parseSets,
  pickNetwork,
} from "../../../compiler/language/program.js";
import type { NetworkDecl } from "../../../grammar/ast.js";
import { compileAndImport, elaborate, repo, writeStructured } from "./harness.js";

/**
 * The continuum family as generated TypeScript: every spec's module passes `tsc --strict` (block
 * parameters used both as `parts` and in arithmetic or comparisons must still type-check), and
 * the grouped, shuffled and gated ones build, at a reduced size, the model the compiler counts.
 */
const outDir = join(repo, "test", ".generated", "family");
const family = [
  "resnet50",
  "resnext50_32x4d",
  "mobilenet_v1",
  "mobilenet_v2",
  "shufflenet_v1",
  "regnet_y_400mf",
];

interface Generated {
  build(options?: Record<string, number | string>): tf.LayersModel;
}

const modules = new Map<string, Generated>();

beforeAll(async () => {
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  for (const name of family) {
    const file = `specs/${name}.arch`;
    const program = loadProgram(join(repo, file));
    const net = pickNetwork(program, undefined) as NetworkDecl;
    files.push(await writeStructured(program, net, file, join(outDir, `${name}.ts`)));
  }
  const generated = await compileAndImport<Generated>(files);
  for (const [i, name] of family.entries()) modules.set(name, generated[i]!);
  await initBackend("wasm");
}, 240_000);

describe("the continuum family as generated TypeScript", () => {
  it.each([
    ["shufflenet_v1", { groups: 8, size: 32, classes: 10 }],
    ["shufflenet_v1", { groups: 1, size: 32, classes: 10 }],
    ["regnet_y_400mf", { size: 32, classes: 10 }],
    ["mobilenet_v2", { size: 32, classes: 10 }],
  ] as const)("%s(%o) builds the compiler's model", async (name, options) => {
    const model = modules.get(name)!.build({ ...options });
    const program = loadProgram(join(repo, "specs", `${name}.arch`));
    const net = pickNetwork(program, undefined) as NetworkDecl;
    const graph = elaborate(program, net, options);
    expect(model.countParams()).toBe(graph.totals.params.total);
    expect(model.outputs[0]!.shape).toEqual([null, options.classes]);
    model.dispose();
  });

  it("a partition word where the spec compares it as a number fails as the compiler does", () => {
    // ShuffleNet's branch shuffles only `if groups > 1`: generated code compares the number,
    // and `depthwise` there is the compiler's E0500, not a silent false.
    const generated = modules.get("shufflenet_v1")!;
    const program = loadProgram(join(repo, "specs", "shufflenet_v1.arch"));
    const net = pickNetwork(program, undefined) as NetworkDecl;
    const r = buildNetwork(program, net, parseSets(["groups=depthwise", "size=32"]).args);
    expect(r.ok).toBe(false);
    const message = r.ok ? "" : r.diagnostics[0]!.message;
    expect(message).toBe("'>' needs a number, not 'depthwise' (depthwise)");
    expect(() => generated.build({ groups: "depthwise", size: 32 })).toThrow(
      `error[E0500]: ${message}`,
    );
  });
});
