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
import { emitTorch } from "../../../compiler/backends/torch/emit.js";
import { probeFor } from "../../../compiler/backends/torch/probe.js";
import { safetensors, torchStateDict } from "../../../compiler/backends/torch/weights.js";
import { compileSpec } from "../../../compiler/index.js";
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
  maxAbsDiff,
  plan,
  randomizeNonKernels,
  tempDir,
} from "../onnx/networks.js";

/**
 * `shuffle` and `upsample` compute the same in tfjs, onnxruntime and PyTorch: alone, against
 * torchvision's channel_shuffle and nn.Upsample (exactly: they only move values), and inside a
 * small ShuffleNet with weights, through the generated PyTorch module (identity.py), at groups 2
 * and 4. Debian's python3-torch is the oracle, as for the other torch tests.
 */
const python = process.env["ARCHC_TEST_PYTHON"] ?? "/usr/bin/python3";
const repo = join(import.meta.dirname, "..", "..", "..");
const spec = join(repo, "test", "backends", "ts", "cases", "shufflenet.arch");

function pythonProblem(): string | undefined {
  if (!existsSync(python)) return `${python} does not exist`;
  const r = spawnSync(python, ["-c", "import torch, numpy"], { encoding: "utf8" });
  if (r.status !== 0) return `${python} cannot import torch (${r.stderr.trim().split("\n").pop()})`;
  return undefined;
}
const problem = pythonProblem();
const inCI = !!process.env["CI"] && !["0", "false"].includes(process.env["CI"]!.toLowerCase());

function needPython(): void {
  if (problem) throw new Error(`${problem}: apt-get install -y python3-torch`);
}

describe.skipIf(problem !== undefined && !inCI)("shuffle and upsample: tfjs, ONNX, PyTorch", () => {
  beforeAll(async () => {
    await initBackend("wasm");
  });

  it("alone, they are torchvision's channel_shuffle and nn.Upsample('nearest'), exactly", async () => {
    needPython();
    const dir = tempDir("archc-rearrange-");
    // Not 3 then 4: with 12 channels, shuffle 4 undoes shuffle 3 (the inverse of g is c / g).
    const [groups, factor] = [
      [3, 2],
      [2, 3],
    ];
    const g = mustBuild(`network r {
  input 4x5x12
  shuffle ${groups[0]} -> upsample ${factor[0]}x${factor[1]} -> shuffle groups = ${groups[1]}
  flatten
}`);
    const model = buildModelFromIR(g);
    const x = tf.randomNormal([2, ...g.input], 0, 1, "float32", 3);
    const input = x.dataSync() as Float32Array;
    const ref = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
    const bytes = exportOnnx(g, model);
    const ort = await runOnnx(bytes, input, x.shape, "cpu");
    // No arithmetic: every output is one of the inputs, so the two runtimes agree bit for bit.
    expect(maxAbsDiff(ref, ort.data)).toBe(0);
    const c = (name: string, data: Float32Array | Uint8Array) => {
      writeFileSync(join(dir, name), data);
      return join(dir, name);
    };
    const cse = {
      batch: 2,
      input_shape: g.input,
      groups,
      factor,
      input: c("x.f32", input),
      tfjs: c("tfjs.f32", ref),
      onnxruntime: c("ort.f32", ort.data as Float32Array),
      // For onnx.checker: this model, and the ShuffleNet (random weights) at groups 4.
      onnx: [
        c("r.onnx", bytes),
        c("shufflenet.onnx", exportOnnx(compileSpec(spec, { args: { groups: 4 } }), undefined)),
      ],
    };
    writeFileSync(join(dir, "case.json"), JSON.stringify(cse));
    const out = execFileSync(
      python,
      [join(import.meta.dirname, "rearrange.py"), join(dir, "case.json")],
      { encoding: "utf8" },
    );
    const r = JSON.parse(out) as Record<string, number | string>;
    expect(r["tfjs"], JSON.stringify(r)).toBe(0);
    expect(r["onnxruntime"], JSON.stringify(r)).toBe(0);
    // The negative control: the inverse permutation (channels read as [c/g, g]) differs.
    expect(r["tfjs_inverse"] as number, JSON.stringify(r)).toBeGreaterThan(0.1);
    expect(r["onnxruntime_inverse"] as number, JSON.stringify(r)).toBeGreaterThan(0.1);
    expect(r["checked"]).toBe(2);
    x.dispose();
    model.dispose();
  });

  it("an indivisible group count names what the spec wrote: a shuffle's groups, or parts", () => {
    needPython();
    const dir = tempDir("archc-rearrange-groups-");
    const program = loadProgram(spec);
    const net = pickNetwork(program);
    if ("code" in net) throw new Error(net.message);
    const r = buildNetwork(program, net, []);
    if (!r.ok) throw new Error(r.diagnostics[0]!.message);
    const module = emitTorch(r.graph, { probe: probeFor(program, net, []) });
    expect(module).toContain('ChannelShuffle(groups_of(mix, 24, "shuffle groups"))');
    writeFileSync(join(dir, "net.py"), module);
    const construct = (args: string) => {
      const out = spawnSync(
        python,
        [
          "-c",
          `import sys; sys.path.insert(0, sys.argv[1]); import net; net.Shufflenet(${args})`,
          dir,
        ],
        { encoding: "utf8" },
      );
      expect(out.status, out.stderr).toBe(1);
      return out.stderr.trim().split("\n").pop();
    };
    // `shuffle mix` after the second unit sees 24 channels; the units' convolutions see them too.
    expect(construct("mix=5")).toBe(
      "ValueError: 24 input channels are not divisible by shuffle groups = 5; the nearest valid values are 4 and 6",
    );
    expect(construct("mix='wide'")).toBe(
      "ValueError: shuffle groups must be a positive whole number, 'regular' or 'depthwise', not 'wide'",
    );
    expect(construct("groups=5")).toBe(
      "ValueError: 24 input channels are not divisible by parts = 5; the nearest valid values are 4 and 6",
    );
  });

  it("in a ShuffleNet with weights: the generated module matches tfjs and onnxruntime at groups 2 and 4", async () => {
    needPython();
    const dir = tempDir("archc-rearrange-net-");
    const program = loadProgram(spec);
    const net = pickNetwork(program);
    if ("code" in net) throw new Error(net.message);
    const build = (sets: string[]): IRGraph => {
      const r = buildNetwork(program, net, parseSets(sets).args);
      if (!r.ok) throw new Error(r.diagnostics[0]!.message);
      return r.graph;
    };
    // One module, compiled at the defaults; groups stays a constructor argument.
    const module = emitTorch(build([]), { probe: probeFor(program, net, []) });
    expect(module).toContain(
      'self.shuffle = ChannelShuffle(groups_of(groups, 12, "shuffle groups"))',
    );
    expect(module).toContain('nn.Upsample(scale_factor=(1, 2), mode="nearest")');
    const entries = [];
    for (const groups of [2, 4]) {
      const g = build([`groups=${groups}`]);
      const model = buildModelFromIR(g, plan);
      randomizeNonKernels(model);
      const x = tf.randomNormal([4, ...g.input], 0, 1, "float32", 5);
      calibrateBatchNorm(g, model, x);
      const input = x.dataSync() as Float32Array;
      const ref = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
      const ort = await runOnnx(exportOnnx(g, model), input, x.shape, "cpu");
      expect(maxAbsDiff(ref, ort.data), `groups ${groups}: tfjs vs onnxruntime`).toBeLessThan(1e-5);
      const base = join(dir, `g${groups}`);
      writeFileSync(`${base}.py`, module);
      writeFileSync(
        `${base}.safetensors`,
        safetensors(torchStateDict(g, weightsFromTfjs(model, g))),
      );
      writeFileSync(`${base}.x.f32`, input);
      writeFileSync(`${base}.tfjs.f32`, ref);
      writeFileSync(`${base}.ort.f32`, ort.data as Float32Array);
      entries.push({
        name: `groups${groups}`,
        module: `${base}.py`,
        class: "Shufflenet",
        kwargs: { groups },
        weights: `${base}.safetensors`,
        input: `${base}.x.f32`,
        input_shape: x.shape,
        tfjs: `${base}.tfjs.f32`,
        onnxruntime: `${base}.ort.f32`,
      });
      x.dispose();
      model.dispose();
    }
    writeFileSync(join(dir, "cases.json"), JSON.stringify(entries));
    const out = execFileSync(
      python,
      [join(import.meta.dirname, "identity.py"), join(dir, "cases.json")],
      { encoding: "utf8" },
    );
    const results = out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, number | string>);
    expect(results.map((r) => r["name"])).toEqual(["groups2", "groups4"]);
    for (const r of results) {
      const label = JSON.stringify(r);
      expect(r["scale"] as number, label).toBeGreaterThan(0.1);
      expect(r["tfjs"] as number, label).toBeLessThan(1e-4);
      expect(r["onnxruntime"] as number, label).toBeLessThan(1e-4);
    }
  }, 300_000);
});
