import * as tf from "@tensorflow/tfjs";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { exportOnnx } from "../../../compiler/backends/onnx/export.js";
import { runOnnx } from "../../../compiler/backends/onnx/runtime.js";
import { weightsFromTfjs } from "../../../compiler/backends/onnx/weights.js";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { emitTorch, torchModulePaths } from "../../../compiler/backends/torch/emit.js";
import { probeFor } from "../../../compiler/backends/torch/probe.js";
import { safetensors, torchStateDict } from "../../../compiler/backends/torch/weights.js";
import type { Json } from "../../../compiler/language/elaborate/values.js";
import type { IRGraph } from "../../../compiler/language/ir/types.js";
import {
  buildNetwork,
  loadProgram,
  parseSets,
  pickNetwork,
} from "../../../compiler/language/program.js";
import { mustBuild } from "../../helpers.js";
import {
  calibrateBatchNorm,
  edgeSpec,
  plan,
  randomizeNonKernels,
  maxAbsDiff,
  tempDir,
  withoutSoftmax,
} from "../onnx/networks.js";

/**
 * The generated PyTorch module computes what archc's tfjs model and its ONNX export compute, on
 * the same weights and input: max abs difference of the logits below 1e-4, with batch norms
 * calibrated so activations are O(1). Networks at reduced input sizes (every layer still runs)
 * keep this to a minute on two cores. Debian's python3-torch is the oracle, as for ONNX.
 */
const python = process.env["ARCHC_TEST_PYTHON"] ?? "/usr/bin/python3";
const script = join(import.meta.dirname, "identity.py");
const repo = join(import.meta.dirname, "..", "..", "..");

function pythonProblem(): string | undefined {
  if (!existsSync(python)) return `${python} does not exist`;
  const r = spawnSync(python, ["-c", "import torch, numpy"], { encoding: "utf8" });
  if (r.status !== 0) return `${python} cannot import torch (${r.stderr.trim().split("\n").pop()})`;
  return undefined;
}
const problem = pythonProblem();
const inCI = !!process.env["CI"] && !["0", "false"].includes(process.env["CI"]!.toLowerCase());

interface Spec {
  readonly name: string;
  readonly file?: string;
  readonly network?: string;
  /** Compiled in: the module is generated from the spec with these. */
  readonly sets: readonly string[];
  /** Passed to the Python constructor: the tfjs reference is built with these on top. */
  readonly kwargs?: Record<string, Json>;
  readonly text?: string;
}

function graphOf(s: Spec, extra: Record<string, Json> = {}): { graph: IRGraph; module: string } {
  if (s.text) {
    const graph = mustBuild(s.text);
    return { graph, module: emitTorch(graph) };
  }
  const program = loadProgram(join(repo, "specs", s.file!));
  const net = pickNetwork(program, s.network);
  if ("code" in net) throw new Error(net.message);
  const sets = [...s.sets, ...Object.entries(extra).map(([k, v]) => `${k}=${String(v)}`)];
  const build = (xs: readonly string[]) => {
    const r = buildNetwork(program, net, parseSets(xs).args);
    if (!r.ok) throw new Error(r.diagnostics[0]!.message);
    return r.graph;
  };
  // The module from the spec as compiled; the reference at the constructor's arguments.
  const compiled = build(s.sets);
  return {
    graph: build(sets),
    module: emitTorch(compiled, { probe: probeFor(program, net, s.sets) }),
  };
}

const cases: Spec[] = [
  { name: "xception_depthwise", file: "xception.arch", sets: ["size=75", "classes=10"] },
  {
    name: "xception_parts4",
    file: "xception.arch",
    sets: ["size=75", "classes=10"],
    kwargs: { parts: 4, mid: "elu" },
  },
  {
    name: "xception_parts1",
    file: "xception.arch",
    sets: ["size=75", "classes=10"],
    kwargs: { parts: 1 },
  },
  { name: "inception_v3", file: "inception_v3.arch", sets: ["size=75", "classes=10"] },
  {
    name: "fig1_canonical",
    file: "continuum.arch",
    network: "fig1_canonical",
    sets: ["size=9", "channels=32"],
  },
  {
    name: "fig2_simplified",
    file: "continuum.arch",
    network: "fig2_simplified",
    sets: ["size=9", "channels=32"],
  },
  {
    name: "fig3_reformulated",
    file: "continuum.arch",
    network: "fig3_reformulated",
    sets: ["size=9", "channels=32"],
  },
  {
    name: "fig4_extreme",
    file: "continuum.arch",
    network: "fig4_extreme",
    sets: ["size=9", "channels=32"],
  },
  {
    name: "continuum_parts8",
    file: "continuum.arch",
    network: "continuum",
    sets: ["size=9", "channels=32"],
    kwargs: { parts: 8 },
  },
  { name: "edges", sets: [], text: edgeSpec },
];

describe.skipIf(problem !== undefined && !inCI)("generated PyTorch vs tfjs and ONNX", () => {
  beforeAll(async () => {
    await initBackend("wasm");
  });

  it("matches on Xception (parts 1, 4, depthwise), Inception V3, the continuum modules and every op", async () => {
    if (problem) throw new Error(`${problem}: apt-get install -y python3-torch`);
    const dir = tempDir("archc-torch-identity-");
    const entries = [];
    // How far tfjs and onnxruntime are from each other: float32 summed in other orders.
    const noise = new Map<string, number>();
    for (const s of cases) {
      const { graph: full, module } = graphOf(s, s.kwargs);
      const last = full.nodes[full.output]!;
      const softmax = last.op === "dense" && last.attrs.activation === "softmax";
      const g = softmax ? withoutSoftmax(full) : full;
      const model = buildModelFromIR(g, plan);
      randomizeNonKernels(model);
      // Calibrated on the test batch itself, as the ONNX tests do: enough at these sizes.
      const x = tf.randomNormal([2, ...g.input], 0, 1, "float32", 9);
      calibrateBatchNorm(g, model, x);
      const input = x.dataSync() as Float32Array;
      const ref = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
      const ort = await runOnnx(exportOnnx(g, model), input, x.shape, "cpu");
      const weights = safetensors(torchStateDict(g, weightsFromTfjs(model, g)));
      const base = join(dir, s.name);
      writeFileSync(`${base}.py`, module);
      writeFileSync(`${base}.safetensors`, weights);
      writeFileSync(`${base}.x.f32`, input);
      writeFileSync(`${base}.tfjs.f32`, ref);
      writeFileSync(`${base}.ort.f32`, ort.data as Float32Array);
      noise.set(s.name, maxAbsDiff(ref, ort.data));
      const className = /^class (\w+)\(nn\.Module\):\n    """\w+: /m.exec(module)![1]!;
      entries.push({
        name: s.name,
        module: `${base}.py`,
        class: className,
        kwargs: s.kwargs ?? {},
        weights: `${base}.safetensors`,
        input: `${base}.x.f32`,
        input_shape: x.shape,
        tfjs: `${base}.tfjs.f32`,
        onnxruntime: `${base}.ort.f32`,
        ...(softmax ? { logits: torchModulePaths(full).get(full.output) } : {}),
      });
      x.dispose();
      model.dispose();
    }
    // The negative control: Xception (at 75: maps of 18 and 74 pad one pixel more at the bottom
    // and right) with that pixel moved to the top and left.
    entries.push({ ...entries[0]!, name: "negative_control", naive_padding: true });
    writeFileSync(join(dir, "cases.json"), JSON.stringify(entries));
    const out = execFileSync(python, [script, join(dir, "cases.json")], { encoding: "utf8" });
    const results = out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, number | string>);
    expect(results.map((r) => r["name"])).toEqual([
      ...cases.map((c) => c.name),
      "negative_control",
    ]);
    for (const r of results) {
      const label = `${r["name"]}: tfjs ${r["tfjs"]}, onnxruntime ${r["onnxruntime"]}, |y| up to ${r["scale"]}`;
      // Activations O(1): the logits are not vanishingly small, so 1e-4 means something.
      expect(r["scale"] as number, label).toBeGreaterThan(0.1);
      if (r["name"] === "negative_control") {
        expect(r["tfjs"] as number, label).toBeGreaterThan(1e-2);
        continue;
      }
      // Below 1e-4, or as close to tfjs as onnxruntime is (Inception V3's 94 convolutions in
      // sequence accumulate float32 rounding to ~1e-4 of the logits in any two runtimes).
      const bound = Math.max(1e-4, 2 * noise.get(r["name"] as string)!);
      expect(r["tfjs"] as number, `${label}, bound ${bound}`).toBeLessThan(bound);
      expect(r["onnxruntime"] as number, `${label}, bound ${bound}`).toBeLessThan(bound);
    }
  }, 900_000);
});
