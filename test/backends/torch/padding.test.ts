import * as tf from "@tensorflow/tfjs";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { mustBuild } from "../../helpers.js";
import { maxAbsDiff, plan } from "../onnx/networks.js";
import { itAgreesAcrossBackends } from "./harness.js";

/**
 * Explicit padding computes the same in the tfjs runtime, the ONNX export (onnxruntime) and the
 * generated PyTorch module, on the same weights and input: PyTorch's semantics, which the
 * torchvision parity relies on. Small networks: seconds.
 */
/**
 * Every padded layer: pad = 1 on a strided conv, an asymmetric [0, 1, 0, 1] conv, 2x1 on a
 * spatial-first sepconv and [t, b, l, r] on a pointwise-first one (its 1x1 runs before the
 * padding), grouped and depthwise convs, max pooling with pad 1 and asymmetric pads, average
 * pooling counting the padded zeros, zeropad, and pads beyond half a pool window (which PyTorch's
 * own pooling padding refuses, so the module pads by hand); then TensorFlow's 'same' conv and
 * pools, whose PyTorch lowering shares the classes explicit padding extends.
 */
const paddedSpec = `network padded {
  input 16x14x3
  conv 3x3/2 8 pad = 1 -> bn -> relu
  conv 3x3 8 pad = [0, 1, 0, 1] -> bn
  sepconv 3x3 12 pad = 2x1 mid = relu -> bn
  sepconv 3x3 12 order = pointwise_first parts = 3 pad = [1, 0, 2, 1] -> bn -> elu
  conv 3x3 12 parts = 4 pad = 1 -> bn
  conv 3x3 12 parts = depthwise dilation = 2 pad = [2, 2, 2, 1] -> bn
  avgpool 3x3/2 pad = 1
  zeropad [1, 2, 0, 1]
  conv 3x3 8 pad = 1 -> bn
  maxpool 3x3 stride = 1 pad = [2, 0, 1, 2]
  avgpool 3x3 stride = 1 pad = [0, 2, 2, 0]
  conv 3x3/2 8 -> bn
  maxpool 3x3 stride = 1 same
  avgpool 2x2 stride = 1 same
  gap -> dense 5
}
`;

/**
 * Max pooling straight on the input, which the test makes negative everywhere: a zero padding
 * would win every border window, -infinity never does. Then zeropad before pooling, where the
 * zeros must win (onnxruntime would fold them into a MaxPool's -inf padding, and refuse pads as
 * large as an AveragePool's window).
 */
const negativeSpec = `network negative {
  input 9x8x4
  maxpool 3x3/2 pad = 1
  maxpool 2x2 stride = 1 pad = [1, 0, 1, 0]
  zeropad [1, 0, 0, 1] -> maxpool 2x2 stride = 1
  zeropad 2 -> avgpool 2x2 stride = 1
}
`;

interface Case {
  readonly name: string;
  readonly text: string;
  readonly negative?: boolean;
}
const cases: Case[] = [
  { name: "padded", text: paddedSpec },
  // Blocks whose pads are parameters: the module's classes take them as arguments.
  {
    name: "blocks",
    text: readFileSync(join(import.meta.dirname, "..", "ts", "cases", "padded.arch"), "utf8"),
  },
  { name: "negative", text: negativeSpec, negative: true },
];

describe("explicit padding: tfjs, onnxruntime and PyTorch agree", () => {
  beforeAll(async () => {
    await initBackend("wasm");
  });

  it("max pooling pads with -infinity: on a negative input no output is 0; zeropad's zeros win", () => {
    const g = mustBuild(negativeSpec);
    const model = buildModelFromIR(g, plan);
    const pooled = tf.model({
      inputs: model.inputs,
      outputs: model.getLayer("maxpool_1").output as tf.SymbolicTensor,
    });
    const x = tf.randomUniform([2, ...g.input], -2, -0.5, "float32", 3);
    const before = pooled.predict(x) as tf.Tensor;
    const y = model.predict(x) as tf.Tensor;
    expect(before.shape).toEqual([2, 5, 4, 4]);
    expect(tf.max(before).dataSync()[0]).toBeLessThan(-0.5);
    // The top row of windows sees zeropad's zero row: every value there is 0; and a window of
    // zeropad's zeros alone averages to 0.
    const last = model.getLayer("maxpool_2").output as tf.SymbolicTensor;
    const z = tf.model({ inputs: model.inputs, outputs: last }).predict(x) as tf.Tensor;
    expect(z.shape).toEqual([2, 5, 4, 4]);
    expect([...tf.slice(z, [0, 0, 0, 0], [2, 1, 4, 4]).dataSync()].every((v) => v === 0)).toBe(
      true,
    );
    expect(y.shape).toEqual([2, 8, 7, 4]);
    expect([...tf.slice(y, [0, 0, 0, 0], [2, 1, 7, 4]).dataSync()].every((v) => v === 0)).toBe(
      true,
    );
    z.dispose();
    tf.dispose([x, before, y]);
    model.dispose();
  });

  it("the grouped layers' cost model sees the padded input when a batch is given", () => {
    // Unpadded, 2x2 is smaller than the 3x3 window that runs 'valid' after the padding.
    const g = mustBuild(`network n {\n  input 2x2x8\n  conv 3x3 8 parts = 2 pad = 1\n}`);
    const chosen: string[] = [];
    const model = buildModelFromIR(g, {
      batch: 2,
      calibrate: false,
      onStrategies: (c) => chosen.push(...c.layers),
    });
    expect(chosen).toEqual(["conv"]);
    expect(model.outputs[0]!.shape).toEqual([null, 2, 2, 8]);
    model.dispose();
  });

  it("pad = 1 on a 3x3/2 conv of an even input differs from 'same' (TensorFlow pads after)", () => {
    const same = buildModelFromIR(
      mustBuild(`network n {\n  input 16x16x3\n  conv 3x3/2 8\n}`),
      plan,
    );
    const pad = buildModelFromIR(
      mustBuild(`network n {\n  input 16x16x3\n  conv 3x3/2 8 pad = 1\n}`),
      plan,
    );
    pad.setWeights(same.getWeights());
    const x = tf.randomNormal([1, 16, 16, 3], 0, 1, "float32", 5);
    const a = same.predict(x) as tf.Tensor;
    const b = pad.predict(x) as tf.Tensor;
    expect(a.shape).toEqual(b.shape);
    expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBeGreaterThan(0.1);
    tf.dispose([x, a, b]);
    same.dispose();
    pad.dispose();
  });

  itAgreesAcrossBackends(
    "the same numbers in all three, below 1e-4",
    "archc-torch-padding-",
    cases.map((c) => ({
      name: c.name,
      text: c.text,
      ...(c.negative
        ? { input: (shape: number[]) => tf.randomUniform(shape, -2, -0.5, "float32", 9) }
        : {}),
    })),
    120_000,
  );
});
