import type * as tf from "@tensorflow/tfjs";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { emitTypeScript } from "../../../compiler/backends/ts/emit.js";
import { runCli } from "../../helpers.js";
import {
  buildNetwork,
  loadProgram,
  parseSets,
  pickNetwork,
} from "../../../compiler/language/program.js";
import type { NetworkDecl } from "../../../grammar/ast.js";
import { expectGolden } from "../../golden.js";
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
 * Structured TypeScript (one function per block, the network's arguments as options) must build
 * the runtime's model: for each spec and a spread of arguments, `build(options)` and the model
 * compiled with the same `--set` values agree in layer names, output shapes, parameter counts,
 * and outputs on the same weights, moved across by layer name.
 */
const outDir = join(repo, "test", ".generated", "structured");

interface Spec {
  /** Module name under test/.generated and test/golden/ts. */
  readonly id: string;
  readonly file: string;
  readonly network?: string;
  /** Argument sets to compare; each also passed as `--set`. */
  readonly variants: readonly Options[];
  /** Which variants also compare outputs (the rest: names, shapes and counts). */
  readonly predict: readonly number[];
}

const specs: readonly Spec[] = [
  {
    id: "xception",
    file: "specs/xception.arch",
    // Regular (parts = 1) Xception has 9 * 728 * 728 weights per unit: mini_xception, resnext
    // and the continuum take that end; here the defaults, depthwise and two grouped points.
    variants: [
      {},
      { size: 71, mid: "relu" },
      { size: 71, parts: 4, residual: false, classes: 17, dropout: 0 },
      { size: 71, parts: 8 },
    ],
    predict: [1],
  },
  {
    id: "inception_v3",
    file: "specs/inception_v3.arch",
    variants: [{ size: 75 }, { size: 75, classes: 17, dropout: 0.5 }],
    predict: [0],
  },
  {
    id: "mini_xception",
    file: "specs/mini_xception.arch",
    variants: [
      {},
      { parts: 1 },
      { parts: 4, mid: "relu", residual: false },
      { parts: "depthwise", classes: 5, width: 8 },
      { parts: 8 },
    ],
    predict: [0, 1, 2, 3, 4],
  },
  ...["fig1_canonical", "fig2_simplified", "fig3_reformulated", "fig4_extreme"].map((n) => ({
    id: `continuum.${n}`,
    file: "specs/continuum.arch",
    network: n,
    variants: [{ size: 9 }],
    predict: [0],
  })),
  {
    id: "continuum.continuum",
    file: "specs/continuum.arch",
    network: "continuum",
    variants: [
      { size: 9 },
      { size: 9, parts: "regular" },
      { size: 9, parts: "depthwise", order: "spatial_first" },
      { size: 9, parts: 4, filters: 64 },
    ],
    predict: [0, 1, 2, 3],
  },
  {
    id: "tiny",
    file: "examples/tiny.arch",
    variants: [{}, { parts: 4, residual: false, classes: 3 }],
    predict: [0, 1],
  },
  {
    id: "resnext",
    file: "test/backends/ts/cases/resnext.arch",
    variants: [{}, { parts: 1, basic_stem: true, head_kernel: [3, 3] }, { parts: 8, width: 32 }],
    predict: [0, 1, 2],
  },
  {
    id: "senet",
    file: "test/backends/ts/cases/senet.arch",
    variants: [
      {},
      { reduction: 8, act: "relu" },
      { width: 24, reduction: 2 },
      { act: "h_sigmoid" },
    ],
    predict: [0, 1, 2, 3],
  },
  {
    id: "arithmetic",
    file: "test/backends/ts/cases/arithmetic.arch",
    variants: [{}, { shift: 2 }, { shift: -4, m: 3 }, { m: 5, shift: 1 }],
    predict: [0, 1, 2, 3],
  },
];

interface Generated {
  build(options?: Options): tf.LayersModel;
}

const modules = new Map<string, Generated>();

beforeAll(async () => {
  mkdirSync(outDir, { recursive: true });
  process.env["ARCHC_CACHE_DIR"] = join(repo, "test", ".generated", "cache");
  await initBackend("wasm");
  const files: string[] = [];
  for (const spec of specs) {
    const program = loadProgram(join(repo, spec.file));
    const net = pickNetwork(program, spec.network) as NetworkDecl;
    const out = join(outDir, `${spec.id.replace(".", "_")}.ts`);
    files.push(await writeStructured(program, net, spec.file, out));
  }
  // One strict compile of every generated module: what a user's project would run.
  const generated = await compileAndImport<Generated>(files);
  for (const [i, spec] of specs.entries()) modules.set(spec.id, generated[i]!);
});

describe("structured TypeScript", () => {
  for (const spec of specs) {
    it(`${spec.id}: the module is the golden one`, async () => {
      const program = loadProgram(join(repo, spec.file));
      const net = pickNetwork(program, spec.network) as NetworkDecl;
      const text = await emitTypeScript(program, net, {
        source: spec.file,
        graph: elaborate(program, net, {}),
      });
      expectGolden(join(repo, "test", "golden", "ts", `${spec.id}.ts.txt`), text);
      // Stable: the same spec gives the same text.
      expect(
        await emitTypeScript(program, net, {
          source: spec.file,
          graph: elaborate(program, net, {}),
        }),
      ).toBe(text);
    });

    it(`${spec.id}: build(options) is the runtime's model for ${spec.variants.length} argument sets`, () => {
      const program = loadProgram(join(repo, spec.file));
      const net = pickNetwork(program, spec.network) as NetworkDecl;
      const generated = modules.get(spec.id)!;
      for (const [i, o] of spec.variants.entries()) {
        const graph = elaborate(program, net, o);
        const runtime = buildModelFromIR(graph);
        const fromTs = generated.build(o);
        const what = `${spec.id} ${JSON.stringify(o)}`;
        expectSameModel(fromTs, runtime, what, { graph, outputs: spec.predict.includes(i) });
        fromTs.dispose();
        runtime.dispose();
      }
    });
  }

  it("argument checks run in generated code with the compiler's message and nearest values", async () => {
    const program = loadProgram(join(repo, "specs/xception.arch"));
    const net = pickNetwork(program) as NetworkDecl;
    const sets = parseSets(["parts=5", "size=71"]);
    const r = buildNetwork(program, net, sets.args);
    expect(r.ok).toBe(false);
    const d = !r.ok ? r.diagnostics[0]! : undefined;
    expect(d?.message).toMatch(/not divisible by parts = 5/);
    const generated = modules.get("xception")!;
    const err = expectSpecError(() => generated.build({ parts: 5, size: 71 }), d!);
    expect(err.message).toContain("the nearest valid values are 4 and 8");
  });

  it("`%` and `//` by zero fail in generated code with the compiler's E0501", () => {
    const program = loadProgram(join(repo, "test/backends/ts/cases/arithmetic.arch"));
    const net = pickNetwork(program) as NetworkDecl;
    const r = buildNetwork(program, net, parseSets(["m=0"]).args);
    expect(r.ok).toBe(false);
    const d = !r.ok ? r.diagnostics[0]! : undefined;
    expect(d?.code).toBe("E0501");
    expectSpecError(() => modules.get("arithmetic")!.build({ m: 0 }), d!);
  });

  it("other argument-dependent checks: a window that no longer fits, an unknown option", () => {
    const program = loadProgram(join(repo, "specs/xception.arch"));
    const net = pickNetwork(program) as NetworkDecl;
    const r = buildNetwork(program, net, parseSets(["size=3"]).args);
    const d = !r.ok ? r.diagnostics[0]! : undefined;
    expect(d?.code).toBe("E0401");
    const generated = modules.get("xception")!;
    expect(() => generated.build({ size: 3 })).toThrow(d!.message);
    expect(() => generated.build({ party: 4 } as Options)).toThrow(
      "network xception has no parameter 'party'",
    );
    // What TypeScript's types hold back, for callers from JavaScript: bindOpArgs' text.
    const bad = buildNetwork(program, net, parseSets(["mid=same", "size=71"]).args);
    const dm = !bad.ok ? bad.diagnostics[0]! : undefined;
    expect(dm?.code).toBe("E0303");
    expect(() => generated.build({ mid: "same", size: 71 })).toThrow(dm!.message);
  });

  it("a spec the structured form cannot carry is refused with exit 1, naming --flat", async () => {
    const file = join(outDir, "strided.arch");
    writeFileSync(
      file,
      "block down(k = 3x3/2) {\n  conv k 8\n}\n\nnetwork n() {\n  input 8x8x3\n  down()\n}\n",
    );
    const r = await runCli("compile", file, "--target", "ts");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot write n as structured TypeScript: a strided size \(3x3\/2\)/);
    expect(r.stderr).toMatch(/--flat/);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
    const flat = await runCli("compile", file, "--target", "ts", "--flat");
    expect(flat.code).toBe(0);
  });

  it("shape rules where tensors meet: the same E0402 and E0403 text and hint", async () => {
    const file = join(outDir, "joins.arch");
    writeFileSync(
      file,
      [
        "network joins(f = 4, stride = 1) {",
        "  input 8x8x4",
        "  residual { conv 3x3 f }",
        "  concat {",
        "    branch { conv 1x1 4 }",
        "    branch { conv 1x1 4 stride=stride }",
        "  }",
        "}",
        "",
      ].join("\n"),
    );
    const program = loadProgram(file);
    const net = pickNetwork(program) as NetworkDecl;
    const module = join(outDir, "joins.ts");
    writeFileSync(module, await emitTypeScript(program, net, { layersModule }));
    const generated = (await import(pathToFileURL(module).href)) as Generated;
    for (const sets of [["f=8"], ["stride=2"]]) {
      const r = buildNetwork(program, net, parseSets(sets).args);
      const d = !r.ok ? r.diagnostics[0]! : undefined;
      expect(d?.code).toMatch(/E040[23]/);
      const [k, v] = sets[0]!.split("=");
      expect(() => generated.build({ [k!]: Number(v) })).toThrow(
        `${d!.message}\n  = help: ${d!.hint}`,
      );
    }
    expect(generated.build().countParams()).toBe(4 * (9 * 4 + 1) + 2 * (4 * 4 + 4));
  });
});
