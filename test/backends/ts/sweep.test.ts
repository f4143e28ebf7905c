import type * as tf from "@tensorflow/tfjs";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { planModel } from "../../../compiler/backends/tfjs/plan.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { emitTypeScript } from "../../../compiler/backends/ts/emit.js";
import type { IRGraph } from "../../../compiler/language/ir/types.js";
import {
  buildNetwork,
  loadProgram,
  parseSets,
  type Program,
} from "../../../compiler/language/program.js";
import type { NetworkDecl } from "../../../grammar/ast.js";
import { repo, setsAsOptions } from "./harness.js";

/**
 * Every network of specs/ and the standard library that `archc summary` builds at its defaults,
 * as structured TypeScript: `build()` at the defaults, and at a few `--set` variants where a spec
 * has options, makes the layers the compiler's IR plans (names), each node's output
 * shape, and each node's and the network's parameter count. No model is run and nothing is
 * compared against a second tfjs model: the IR and its layer plan are the reference. Modules are
 * imported through vitest's own TypeScript transform; tsc --strict over generated code is the
 * other tests' business (family.test.ts, structured.test.ts).
 */
const outDir = join(repo, "test", ".generated", "sweep");

/**
 * `--set` variants per network, besides the defaults: partitions and shapes the spec offers,
 * at sizes that keep the sweep quick.
 */
const variants: Readonly<Record<string, readonly (readonly string[])[]>> = {
  xception: [
    ["size=71", "parts=8", "classes=10"],
    ["size=71", "mid=relu", "residual=false"],
  ],
  mini_xception: [["parts=4"], ["parts=regular", "mid=relu"]],
  mini_xception_stages: [["entry_parts=4", "middle_parts=regular", "exit_parts=8"]],
  continuum: [["parts=regular"], ["parts=4", "filters=64", "order=spatial_first"]],
  mobilenet_v1: [
    ["size=64", "width=50", "classes=10"],
    ["size=64", "parts=8", "classes=10"],
  ],
  mobilenet_v2: [["size=64", "parts=8", "classes=10"]],
  resnet50: [["size=64", "parts=32", "classes=10"]],
  resnext50_32x4d: [["size=64", "parts=8", "classes=10"]],
  shufflenet_v1: [
    ["size=64", "groups=8", "classes=10"],
    ["size=64", "groups=1"],
  ],
  efficientnet_b0: [["size=64", "parts=8", "classes=10"]],
  convnext_tiny: [["size=64", "classes=10", "drop=0", "scale=0.5"]],
  regnet_x_400mf: [["size=64", "depth=10", "wm=2.0", "classes=10"]],
  regnet_y_400mf: [["size=64", "group_width=16", "classes=10"]],
  inception_v3: [["size=75", "fc=true", "classes=10"]],
  googlenet: [["size=64", "classes=10"]],
  tiny: [["parts=4", "residual=false", "classes=3"]],
};

interface Generated {
  build(o?: Record<string, unknown>): tf.LayersModel;
}

interface Network {
  readonly file: string;
  readonly program: Program;
  readonly net: NetworkDecl;
}

/** Each network declared in a .arch file of specs/, stdlib/ and examples/tiny.arch. */
function networks(): Network[] {
  const files = [
    ...["specs", "stdlib"].flatMap((dir) =>
      readdirSync(join(repo, dir))
        .filter((f) => f.endsWith(".arch"))
        .sort()
        .map((f) => `${dir}/${f}`),
    ),
    "examples/tiny.arch",
  ];
  return files.flatMap((file) => {
    const program = loadProgram(join(repo, file));
    expect(program.diagnostics, file).toEqual([]);
    return [...program.table.networks.values()]
      .filter((net) => net.span.file === program.loaded.root!.file)
      .map((net) => ({ file, program, net }));
  });
}

function graphAt(n: Network, sets: readonly string[]): IRGraph {
  const parsed = parseSets(sets);
  expect(parsed.diagnostics).toEqual([]);
  const r = buildNetwork(n.program, n.net, parsed.args);
  if (!r.ok) throw new Error(`${n.net.name.name} ${sets.join(" ")}: ${r.diagnostics[0]!.message}`);
  return r.graph;
}

/** The model build() made is the IR's: planned layer names, shapes and counts by node. */
function expectIR(model: tf.LayersModel, graph: IRGraph, what: string): void {
  const plan = planModel(graph);
  // tf.model lists layers in an order of its own where branches meet: compared as sets.
  expect(model.layers.map((l) => l.name).sort(), what).toEqual(
    plan.layers.map((l) => String(l.config["name"])).sort(),
  );
  const byNode = new Map<string, string[]>();
  for (const l of plan.layers)
    byNode.set(l.node, [...(byNode.get(l.node) ?? []), String(l.config["name"])]);
  const shapes: [string, unknown][] = [];
  const want: [string, unknown][] = [];
  for (const node of graph.nodes) {
    const layers = byNode.get(node.name) ?? [];
    const last = model.getLayer(layers[layers.length - 1]!);
    const shape = last.outputShape;
    shapes.push([node.name, Array.isArray(shape[0]) ? shape[0] : shape]);
    want.push([node.name, [null, ...node.shape]]);
  }
  expect(shapes, `${what}: output shapes by node`).toEqual(want);
  const params = graph.nodes.map((node) => [
    node.name,
    (byNode.get(node.name) ?? []).reduce((n, l) => n + model.getLayer(l).countParams(), 0),
  ]);
  expect(params, `${what}: parameters by node`).toEqual(
    graph.nodes.map((node) => [node.name, node.params.trainable + node.params.nonTrainable]),
  );
  expect(model.countParams(), what).toBe(graph.totals.params.total);
}

const all = networks();
const modules = new Map<string, Generated>();

beforeAll(async () => {
  mkdirSync(outDir, { recursive: true });
  await initBackend("cpu");
  for (const n of all) {
    const name = n.net.name.name;
    const text = await emitTypeScript(n.program, n.net, {
      source: n.file,
      graph: graphAt(n, []),
      layersModule: "../../../compiler/layers.js",
    });
    const file = join(outDir, `${name}.ts`);
    writeFileSync(file, text);
    modules.set(name, (await import(pathToFileURL(file).href)) as Generated);
  }
}, 600_000);

describe("every spec's network as structured TypeScript builds the compiler's IR", () => {
  it("the sweep covers every network of specs/ and examples/tiny.arch", () => {
    expect(all.length).toBeGreaterThanOrEqual(22);
    for (const k of Object.keys(variants)) expect(modules.has(k), k).toBe(true);
  });

  for (const n of all) {
    const name = n.net.name.name;
    it(`${name} (${n.file}) at its defaults and ${variants[name]?.length ?? 0} variants`, () => {
      for (const sets of [[], ...(variants[name] ?? [])]) {
        const graph = graphAt(n, sets);
        const model = modules.get(name)!.build(setsAsOptions(sets));
        try {
          expectIR(model, graph, `${name} ${sets.join(" ") || "(defaults)"}`);
        } finally {
          model.dispose();
        }
      }
    }, 300_000);
  }
});
