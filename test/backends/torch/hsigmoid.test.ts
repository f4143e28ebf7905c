import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { emitFlatTypeScript } from "../../../compiler/backends/ts/flat.js";
import { emitTorch } from "../../../compiler/backends/torch/emit.js";
import { mustBuild } from "../../helpers.js";
import { maxAbsDiff, plan, tempDir, tfjsAndOnnxruntime } from "../onnx/networks.js";
import {
  calibratedModel as model,
  expectIdentical,
  inCI,
  needPython,
  pythonProblem,
  runIdentity,
  torchCase,
} from "./harness.js";

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

beforeAll(async () => {
  await initBackend("wasm");
});

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
    const { want, got, dims } = await tfjsAndOnnxruntime(g, m, x);
    expect(dims).toEqual([2, 5]);
    expect(Math.max(...Array.from(want, Math.abs))).toBeGreaterThan(0.1);
    expect(maxAbsDiff(want, got)).toBeLessThan(1e-4);
    m.dispose();
    x.dispose();
  });

  const problem = pythonProblem();
  it.skipIf(problem !== undefined && !inCI)(
    "the generated PyTorch module (nn.Hardsigmoid) gives tfjs' and onnxruntime's numbers",
    async () => {
      needPython(problem);
      const g = mustBuild(spec);
      const x = tf.randomNormal([2, ...g.input], 0, 1, "float32", 7);
      const m = model(g, x);
      const module = emitTorch(g);
      expect(module).toContain("nn.Hardsigmoid()");
      const dir = tempDir("archc-torch-hsigmoid-");
      const { entry } = await torchCase(dir, "hsig", g, m, x, module);
      for (const r of runIdentity(dir, [entry])) expectIdentical(r);
      m.dispose();
      x.dispose();
    },
    120_000,
  );
});
