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
import { emitFlatTypeScript } from "../../../compiler/backends/ts/flat.js";
import { emitTorch } from "../../../compiler/backends/torch/emit.js";
import { safetensors, torchStateDict } from "../../../compiler/backends/torch/weights.js";
import { mustBuild } from "../../helpers.js";
import {
  calibrateBatchNorm,
  maxAbsDiff,
  plan,
  randomizeNonKernels,
  tempDir,
} from "../onnx/networks.js";

/**
 * `h_sigmoid` (PyTorch's Hardsigmoid, relu6(x + 3) / 6: MobileNetV3's squeeze-and-excitation
 * gate) as an activation layer, fused in conv and dense, as a separable conv's mid activation
 * and as a gate, computes the same numbers in archc's tfjs model, its ONNX export (HardSigmoid,
 * alpha 1/6, beta 0.5) and its generated PyTorch module; Keras' hard_sigmoid stays another
 * function.
 */
const spec = `network hsig {
  input 12x10x3
  conv 3x3 16 h_sigmoid -> bn
  sepconv 3x3 16 mid=h_sigmoid -> bn -> hard_swish
  mul {
    branch { }
    branch { avgpool 12x10 valid -> conv 1x1 8 relu -> conv 1x1 16 h_sigmoid }
  }
  conv 1x1 8 -> bn -> h_sigmoid
  gap -> dense 12 h_sigmoid -> dense 5
}
`;

const python = process.env["ARCHC_TEST_PYTHON"] ?? "/usr/bin/python3";
const script = join(import.meta.dirname, "identity.py");

function pythonProblem(): string | undefined {
  if (!existsSync(python)) return `${python} does not exist`;
  const r = spawnSync(python, ["-c", "import torch, numpy"], { encoding: "utf8" });
  if (r.status !== 0) return `${python} cannot import torch (${r.stderr.trim().split("\n").pop()})`;
  return undefined;
}

beforeAll(async () => {
  await initBackend("wasm");
});

function model(g: ReturnType<typeof mustBuild>, x: tf.Tensor): tf.LayersModel {
  const m = buildModelFromIR(g, plan);
  randomizeNonKernels(m);
  calibrateBatchNorm(g, m, x);
  return m;
}

describe("h_sigmoid: tfjs, onnxruntime and PyTorch agree", () => {
  it("tfjs computes h_sigmoid as relu6(x + 3) / 6, not Keras' hard_sigmoid", () => {
    const g = mustBuild(`network t {
  input 2x2x3
  h_sigmoid
}`);
    expect(g.activations["h_sigmoid"]).toEqual({ slope: 1 / 6, offset: 0.5 });
    const m = buildModelFromIR(g, plan);
    const xs = [-4, -3, -1.5, 0, 0.5, 2, 3, 4, 7, -0.25, 1, 2.9];
    const y = Array.from((m.predict(tf.tensor4d(xs, [1, 2, 2, 3])) as tf.Tensor).dataSync());
    const want = xs.map((v) => Math.min(Math.max(v + 3, 0), 6) / 6);
    expect(maxAbsDiff(y, want)).toBeLessThan(1e-6);
    const keras = xs.map((v) => Math.min(Math.max(0.2 * v + 0.5, 0), 1));
    expect(maxAbsDiff(y, keras)).toBeGreaterThan(0.05);
    m.dispose();
  });

  it("flat generated TypeScript imports and applies HSigmoid", async () => {
    const text = await emitFlatTypeScript(mustBuild(spec));
    expect(text).toMatch(/import \{[^}]*\bHSigmoid\b[^}]*\} from "archc\/layers"/);
    expect(text).toContain("new HSigmoid(");
  });

  it("onnxruntime gives tfjs' numbers", async () => {
    const g = mustBuild(spec);
    const x = tf.randomNormal([2, ...g.input], 0, 1, "float32", 7);
    const m = model(g, x);
    const want = (m.predict(x) as tf.Tensor).dataSync();
    const got = await runOnnx(exportOnnx(g, m), x.dataSync() as Float32Array, x.shape, "cpu");
    expect([...got.dims]).toEqual([2, 5]);
    expect(Math.max(...Array.from(want, Math.abs))).toBeGreaterThan(0.1);
    expect(maxAbsDiff(want, got.data)).toBeLessThan(1e-4);
    m.dispose();
    x.dispose();
  });

  const problem = pythonProblem();
  const inCI = !!process.env["CI"] && !["0", "false"].includes(process.env["CI"]!.toLowerCase());
  it.skipIf(problem !== undefined && !inCI)(
    "the generated PyTorch module (nn.Hardsigmoid) gives tfjs' and onnxruntime's numbers",
    async () => {
      if (problem) throw new Error(`${problem}: apt-get install -y python3-torch`);
      const g = mustBuild(spec);
      const x = tf.randomNormal([2, ...g.input], 0, 1, "float32", 7);
      const m = model(g, x);
      const input = x.dataSync() as Float32Array;
      const ref = (m.predict(x) as tf.Tensor).dataSync() as Float32Array;
      const ort = await runOnnx(exportOnnx(g, m), input, x.shape, "cpu");
      const dir = tempDir("archc-torch-hsigmoid-");
      const base = join(dir, "hsig");
      const module = emitTorch(g);
      expect(module).toContain("nn.Hardsigmoid()");
      writeFileSync(`${base}.py`, module);
      writeFileSync(`${base}.safetensors`, safetensors(torchStateDict(g, weightsFromTfjs(m, g))));
      writeFileSync(`${base}.x.f32`, input);
      writeFileSync(`${base}.tfjs.f32`, ref);
      writeFileSync(`${base}.ort.f32`, ort.data as Float32Array);
      const entry = {
        name: "hsig",
        module: `${base}.py`,
        class: /^class (\w+)\(nn\.Module\):\n    """\w+: /m.exec(module)![1]!,
        kwargs: {},
        weights: `${base}.safetensors`,
        input: `${base}.x.f32`,
        input_shape: x.shape,
        tfjs: `${base}.tfjs.f32`,
        onnxruntime: `${base}.ort.f32`,
      };
      writeFileSync(join(dir, "cases.json"), JSON.stringify([entry]));
      const out = execFileSync(python, [script, join(dir, "cases.json")], { encoding: "utf8" });
      const r = JSON.parse(out.trim()) as Record<string, number>;
      expect(r["scale"]).toBeGreaterThan(0.1);
      expect(r["tfjs"]).toBeLessThan(1e-4);
      expect(r["onnxruntime"]).toBeLessThan(1e-4);
      m.dispose();
      x.dispose();
    },
    120_000,
  );
});
