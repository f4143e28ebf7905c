import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  BatchNormReluTraining,
  batchNormTraining,
} from "../../../compiler/backends/tfjs/kernels/batchNormTraining.js";
import { initWasmBackend } from "../../../compiler/backends/tfjs/kernels/wasmInit.js";
import {
  instantiateLayer,
  instantiatePlan,
  planForBuild,
  reluFusions,
} from "../../../compiler/backends/tfjs/model.js";
import type { LayerPlan } from "../../../compiler/backends/tfjs/plan.js";
import { compileSpec } from "../../../compiler/index.js";
import { packageRoot } from "../../../compiler/language/paths.js";

// Batch norm -> ReLU fused into one training kernel each way (kernels/batchNormTraining.ts):
// the same values and gradients as the unfused composition, the same losses when a model
// trains, and no Relu kernel left for the fused layers in a mini_xception step.

beforeAll(async () => {
  await initWasmBackend();
});

function values(shape: readonly number[], seed: number, offset = 0): Float32Array {
  let s = seed >>> 0;
  const c = shape[shape.length - 1]!;
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1 + offset * ((i % c) - c / 2);
  });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** y and the gradients of sum(y * w) in x, gamma and beta, fused or composed. */
function run(shape: number[], seed: number, fused: boolean): Float32Array[] {
  return tf.tidy(() => {
    const c = shape[shape.length - 1]!;
    const x = tf.tensor(values(shape, seed, 0.3), shape);
    const w = tf.tensor(values(shape, seed + 1), shape);
    const gamma = tf.tensor1d(values([c], seed + 2)).add(0.5) as tf.Tensor1D;
    const beta = tf.tensor1d(values([c], seed + 3)) as tf.Tensor1D;
    const f = (xv: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const [y] = batchNormTraining(xv, g as tf.Tensor1D, b as tf.Tensor1D, 1e-3, fused);
      return fused ? y : tf.relu(y);
    };
    const y = f(x, gamma, beta);
    const grads = tf.grads((xv: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(f(xv, g, b), w)),
    )([x, gamma, beta]);
    return [y, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

describe("batch norm fused with the ReLU after it", () => {
  it("gives the composition's output and gradients on several shapes, leaking nothing", () => {
    const held = tf.engine().backend.numDataIds();
    for (const [k, shape] of [
      [2, 5, 5, 3],
      [4, 7, 3, 16],
      [1, 1, 9, 8],
      [3, 33],
    ].entries()) {
      const fused = run(shape, 11 + k, true);
      const composed = run(shape, 11 + k, false);
      // Some outputs are clamped (the mask matters), not all (the gradient flows).
      const zeros = fused[0]!.filter((v) => v === 0).length;
      expect(zeros).toBeGreaterThan(0);
      expect(zeros).toBeLessThan(fused[0]!.length);
      for (let i = 0; i < fused.length; i++)
        expect(maxAbsDiff(fused[i]!, composed[i]!), `shape ${shape}, output ${i}`).toBeLessThan(
          1e-5,
        );
    }
    // The kernels' scratch (the clamped-away y, the mask) is freed on the backend too.
    expect(tf.engine().backend.numDataIds()).toBe(held);
  });

  it("takes only a batch norm whose one reader is a ReLU activation", () => {
    const graph = compileSpec(join(packageRoot, "specs", "mini_xception.arch"), {
      args: { size: 12, width: 8 },
    });
    const plan = planForBuild(graph);
    const fused = reluFusions(plan);
    expect(fused.size).toBeGreaterThan(0);
    for (const id of fused) {
      const layer = plan.layers.find((l) => l.id === id)!;
      if (layer.kind === "batchNormalization") {
        const readers = plan.layers.filter((l) => l.inputs.includes(id));
        expect(readers.length).toBe(1);
        expect(readers[0]!.config["activation"]).toBe("relu");
        expect(fused.has(readers[0]!.id)).toBe(true);
      } else expect(layer.config["activation"]).toBe("relu");
    }
  });
});

describe("a mini_xception training step with fused batch norm -> ReLU", () => {
  const spec = join(packageRoot, "specs", "mini_xception.arch");
  // No dropout: its random masks would differ between the two models.
  const plan = (): LayerPlan =>
    planForBuild(compileSpec(spec, { args: { size: 12, width: 8, dropout: 0 } }));

  /** The plan as a model with no layer fused: every layer from its own factory. */
  function unfused(p: LayerPlan): tf.LayersModel {
    const tensors = new Map<string, tf.SymbolicTensor>();
    for (const layer of p.layers)
      tensors.set(
        layer.id,
        instantiateLayer(
          layer,
          layer.inputs.map((i) => tensors.get(i)!),
        ),
      );
    return tf.model({ inputs: tensors.get(p.input)!, outputs: tensors.get(p.output)! });
  }

  const x = () => tf.tensor4d(values([4, 12, 12, 1], 5), [4, 12, 12, 1]);
  const labels = () => tf.oneHot(tf.tensor1d([1, 3, 5, 7], "int32"), 10);

  function losses(model: tf.LayersModel, steps: number): number[] {
    const opt = tf.train.sgd(0.05);
    const [xs, ys] = [x(), labels()];
    const out: number[] = [];
    for (let s = 0; s < steps; s++) {
      const loss = opt.minimize(
        () =>
          tf.losses.softmaxCrossEntropy(
            ys,
            model.apply(xs, { training: true }) as tf.Tensor,
          ) as tf.Scalar,
        true,
      )!;
      out.push(loss.dataSync()[0]!);
      loss.dispose();
    }
    tf.dispose([xs, ys]);
    opt.dispose();
    return out;
  }

  it("trains to the same losses as the unfused model", () => {
    const p = plan();
    const fused = instantiatePlan(p);
    const plain = unfused(p);
    plain.setWeights(fused.getWeights());
    const a = losses(fused, 4);
    const b = losses(plain, 4);
    expect(a[a.length - 1]).not.toBe(a[0]); // it trains
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-4);
    // And inference (tfjs-layers' batch norm, then the ReLU) agrees too.
    const [xs] = [x()];
    const ya = fused.predict(xs) as tf.Tensor;
    const yb = plain.predict(xs) as tf.Tensor;
    expect(maxAbsDiff(ya.dataSync(), yb.dataSync())).toBeLessThan(1e-5);
    tf.dispose([xs, ya, yb]);
    fused.dispose();
    plain.dispose();
  });

  it("runs no Relu kernel for a fused layer, and fewer kernels in all", async () => {
    const p = plan();
    const pairs = [...reluFusions(p)].filter(
      (id) => p.layers.find((l) => l.id === id)!.kind === "batchNormalization",
    ).length;
    const reluLayers = p.layers.filter(
      (l) => l.kind === "activation" && l.config["activation"] === "relu",
    ).length;
    const kernels = async (model: tf.LayersModel): Promise<string[]> => {
      const [xs, ys] = [x(), labels()];
      const opt = tf.train.sgd(0.01);
      const info = await tf.profile(() => {
        opt.minimize(
          () =>
            tf.losses.softmaxCrossEntropy(
              ys,
              model.apply(xs, { training: true }) as tf.Tensor,
            ) as tf.Scalar,
        );
      });
      tf.dispose([xs, ys]);
      opt.dispose();
      model.dispose();
      return info.kernels.map((k) => k.name);
    };
    const fused = await kernels(instantiatePlan(p));
    const plain = await kernels(unfused(p));
    const count = (names: string[], name: string) => names.filter((n) => n === name).length;
    expect(count(fused, BatchNormReluTraining)).toBe(pairs);
    // Only ReLUs that no batch norm took remain: forward Relu, and nothing of its gradient.
    expect(count(fused, "Relu")).toBe(reluLayers - pairs);
    expect(count(plain, "Relu")).toBe(reluLayers);
    expect(fused.length).toBeLessThanOrEqual(plain.length - 2 * pairs);
  });
});
