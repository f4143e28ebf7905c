import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { frugalVariableGrads } from "../../../compiler/backends/tfjs/gradients.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { decayLoss, withDecayGradients } from "../../../compiler/lab/train/loop.js";
import { mustBuild } from "../../helpers.js";

// Weight decay's gradient in closed form (2 rate w added to each kernel's gradient) against the
// same term differentiated through the tape, as the trainer did it: the same bits, on the
// wasm backend (archc's kernels) and on cpu, for a regular, a grouped and a depthwise layer.

const spec =
  "network small(classes = 3) {\n  input 9x9x4\n  conv 3x3 8 parts=1 -> bn -> relu\n  conv 3x3 8 parts=2 -> relu\n  sepconv 3x3 12 -> bn -> relu\n  gap -> dense classes softmax\n}\n";

beforeAll(async () => {
  // A fixed strategy: the cost model's timing-based choice could differ between the two runs.
  process.env["ARCHC_GROUPED_STRATEGY"] = "split";
  await initBackend("wasm");
});

describe("weight decay in closed form", () => {
  it.each(["wasm", "cpu"])(
    "gives the tape's loss and gradients bit for bit (%s)",
    async (backend) => {
      await tf.setBackend(backend);
      const model = buildModelFromIR(mustBuild(spec));
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const kernels = model.trainableWeights
        .filter((w) => /kernel$/.test(w.originalName))
        .map((w) => w.read() as tf.Variable);
      expect(kernels.length).toBe(5); // conv, grouped conv, depthwise, pointwise, dense
      const x = tf.randomNormal([4, 9, 9, 4], 0, 1, "float32", 1);
      const y = tf.oneHot(tf.tensor1d([0, 1, 2, 1], "int32"), 3);
      const rate = 3e-3;
      const ce = (out: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, out) as tf.Scalar;
      const forward = () => model.apply(x, { training: true }) as tf.Tensor;

      const taped = frugalVariableGrads(
        () => tf.add(ce(forward()), decayLoss(kernels, rate)!) as tf.Scalar,
        vars,
      );
      const wd = decayLoss(kernels, rate)!;
      const plain = frugalVariableGrads(() => ce(forward()), vars);
      const closed = {
        value: tf.add(plain.value, wd),
        grads: withDecayGradients(plain.grads, kernels, rate),
      };
      expect(closed.value.dataSync()).toEqual(taped.value.dataSync());
      expect(Object.keys(closed.grads).sort()).toEqual(Object.keys(taped.grads).sort());
      for (const name of Object.keys(taped.grads))
        expect(closed.grads[name]!.dataSync(), name).toEqual(taped.grads[name]!.dataSync());
      // The decay did change the kernels' gradients (a test that cannot fail would not).
      const k = kernels[0]!.name;
      expect(closed.grads[k]!.dataSync()).not.toEqual(plain.value.dataSync());
      tf.dispose([x, y, wd, taped.value, closed.value, plain.value]);
      tf.dispose([...Object.values(taped.grads), ...Object.values(closed.grads)]);
      model.dispose();
    },
  );

  it("is nothing at rate 0", () => {
    const g = { a: tf.ones([2]) };
    expect(withDecayGradients(g, [], 0)).toBe(g);
    expect(decayLoss([tf.ones([2])], 0)).toBeUndefined();
    g.a.dispose();
  });
});
