import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { inferenceProgram } from "../../../compiler/backends/tfjs/inference/index.js";
import { instantiatePlan, planForBuild } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import type { IRGraph } from "../../../compiler/language/ir/types.js";
import { mulberry32 } from "../../../compiler/util/random.js";
import { mustBuild } from "../../helpers.js";
import { uniform } from "./numbers.js";

// End to end: a spec with non-square depthwise, separable and pooling windows under PyTorch-style
// pads (`pad = N`, `pad = [t, b, l, r]`), the kind of layer whose wasm kernel wrote past its
// output when tfjs got a numeric pad (kernels/explicitPads.ts). archc lowers such pads to explicit
// padding before a 'valid' window, so the model's forward pass (`archc run`'s inference
// program), its loss and every weight's gradient (a training step) on wasm must be cpu's.

const repo = join(import.meta.dirname, "..", "..", "..");

const SPEC = [
  "network n {",
  "  input 13x11x6",
  "  conv 3x2 6 parts=depthwise pad=1 -> bn -> relu",
  "  sepconv 3x2 12 pad=1 mid=relu -> bn -> relu",
  "  conv 2x3/2 12 parts=depthwise pad=[1, 0, 2, 1]",
  "  maxpool 3x2/2 pad=1",
  "  sepconv 1x3 10 parts=2 pad=[0, 0, 1, 1] -> relu",
  "  avgpool 2x1 stride=1 pad=[1, 0, 0, 0]",
  "  gap -> dense 3",
  "}",
  "",
].join("\n");

beforeAll(async () => {
  process.env["ARCHC_CACHE_DIR"] = join(repo, "test", ".generated", "cache");
  await initBackend("wasm");
});

interface Outcome {
  readonly run: Float32Array;
  readonly loss: number;
  readonly grads: Map<string, Float32Array>;
}

/** archc run's program output, a cross-entropy loss and its weight gradients on `backend`. */
async function outcome(
  backend: "cpu" | "wasm",
  graph: IRGraph,
  weights: Float32Array[],
  x: Float32Array,
  labels: number[],
): Promise<Outcome> {
  await tf.setBackend(backend);
  const batch = labels.length;
  const plan = planForBuild(graph, { batch, mode: "train" });
  const model = instantiatePlan(plan);
  model.setWeights(weights.map((w, i) => tf.tensor(w, model.getWeights()[i]!.shape)));
  const input = tf.tensor(x, [batch, ...graph.input]);
  const program = inferenceProgram(plan, model);
  const y = program.predict(input);
  const run = (await y.data()) as Float32Array;
  const target = tf.oneHot(labels, 3);
  // The trainable weights in the model's order, named by layer and weight (tfjs numbers the
  // variables' own names per process).
  const trainable = model.trainableWeights;
  const vars = trainable.map((w) => (w as unknown as { val: tf.Variable }).val);
  const { value, grads } = tf.variableGrads(
    () =>
      tf.losses.softmaxCrossEntropy(target, model.apply(input, { training: true }) as tf.Tensor),
    vars,
  );
  const out: Outcome = {
    run,
    loss: (await value.data())[0]!,
    grads: new Map(
      await Promise.all(
        vars.map(
          async (v, i) =>
            [
              `${i} ${trainable[i]!.originalName}`,
              (await grads[v.name]!.data()) as Float32Array,
            ] as const,
        ),
      ),
    ),
  };
  tf.dispose([y, input, target, value, ...Object.values(grads)]);
  program.dispose();
  model.dispose();
  return out;
}

const maxDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe("a spec with non-square windows and numeric pads on wasm", () => {
  it("runs and trains as on cpu", async () => {
    const graph = mustBuild(SPEC);
    await tf.setBackend("cpu");
    const vars = instantiatePlan(planForBuild(graph, { batch: 3, mode: "train" })).weights;
    const rand = mulberry32(26);
    // Uniform in [-1, 1), batch norms' variances in [0.5, 1.5).
    const weights = vars.map((v) => {
      const w = uniform(
        rand,
        v.shape.reduce((a, b) => a! * b!, 1)!,
      );
      return v.name.includes("variance") ? w.map((u) => 1 + u / 2) : w;
    });
    const x = uniform(rand, 3 * graph.input.reduce((a, b) => a * b, 1));
    const labels = [0, 2, 1];
    const cpu = await outcome("cpu", graph, weights, x, labels);
    const wasm = await outcome("wasm", graph, weights, x, labels);
    expect(wasm.run.length).toBe(3 * 3);
    expect(maxDiff(wasm.run, cpu.run)).toBeLessThan(1e-4);
    expect(Math.abs(wasm.loss - cpu.loss)).toBeLessThan(1e-4);
    expect([...wasm.grads.keys()].sort()).toEqual([...cpu.grads.keys()].sort());
    expect(wasm.grads.size).toBeGreaterThan(8);
    // A bias before a batch norm has a gradient of 0 up to rounding: each tensor's scale is at
    // least a hundredth of the largest gradient's.
    const absMax = (g: Float32Array) => g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const floor = Math.max(...[...cpu.grads.values()].map(absMax)) / 100;
    for (const [k, g] of cpu.grads) {
      const scale = Math.max(absMax(g), floor);
      expect(maxDiff(wasm.grads.get(k)!, g) / scale, k).toBeLessThan(1e-3);
    }
  });
});
