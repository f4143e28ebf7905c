import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { FusedTrainingBatchNorm } from "../../../compiler/backends/tfjs/batchNorm.js";
import {
  BatchNormTraining,
  batchNormTraining,
} from "../../../compiler/backends/tfjs/kernels/batchNormTraining.js";
import { initWasmBackend } from "../../../compiler/backends/tfjs/kernels/wasmInit.js";

// The fused training batch norm (wasm) against tfjs-layers' own BatchNormalization on the
// cpu backend: outputs, every gradient, the moving averages, and gradients through the
// batch statistics against the composed tf.moments formulas.

beforeAll(async () => {
  await initWasmBackend();
});

/** Deterministic values (an LCG), with a per-channel offset so the means are far from 0. */
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

interface Run {
  y: Float32Array;
  dx: Float32Array;
  dgamma: Float32Array;
  dbeta: Float32Array;
  movingMean: Float32Array;
  movingVariance: Float32Array;
}

/** One training call of `layer` and the gradients of sum(y * w), on the active backend. */
function trainingCall(layer: tf.layers.Layer, shape: number[], seed: number): Run {
  const c = shape[shape.length - 1]!;
  const x = tf.tensor(values(shape, seed, 0.7), shape);
  const w = tf.tensor(values(shape, seed + 1), shape);
  layer.build(shape);
  const [gammaVar, betaVar] = layer.trainableWeights.map((v) => v.read() as tf.Variable);
  gammaVar!.assign(tf.tensor1d(values([c], seed + 2, 0)).add(1.5));
  betaVar!.assign(tf.tensor1d(values([c], seed + 3, 0)));
  let y: tf.Tensor | undefined;
  const f = (xv: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    void g;
    void b;
    const out = layer.apply(xv, { training: true }) as tf.Tensor;
    y = tf.keep(out.clone());
    return tf.sum(tf.mul(out, w)) as tf.Scalar;
  };
  const grads = tf.variableGrads(() => f(x, gammaVar!, betaVar!), [gammaVar!, betaVar!]);
  const dx = tf.grad((xv: tf.Tensor) =>
    tf.sum(tf.mul(layer.apply(xv, { training: true }) as tf.Tensor, w)),
  )(x);
  const [movingMean, movingVariance] = layer.nonTrainableWeights.map(
    (v) => v.read().dataSync() as Float32Array,
  );
  const run = {
    y: y!.dataSync() as Float32Array,
    dx: dx.dataSync() as Float32Array,
    dgamma: grads.grads[gammaVar!.name]!.dataSync() as Float32Array,
    dbeta: grads.grads[betaVar!.name]!.dataSync() as Float32Array,
    movingMean: movingMean!,
    movingVariance: movingVariance!,
  };
  tf.dispose([x, w, y!, dx, grads.value, ...Object.values(grads.grads)]);
  return run;
}

describe("batch norm in training on wasm: two fused kernels", () => {
  it("equals tfjs-layers' BatchNormalization on the cpu backend: y, dx, dgamma, dbeta, moving stats", async () => {
    for (const [shape, seed] of [
      [[4, 5, 6, 7], 1],
      [[2, 3, 3, 64], 2],
      [[16, 10], 3],
      [[1, 1, 1, 5], 4],
    ] as [number[], number][]) {
      const config = { momentum: 0.9, epsilon: 1e-3 };
      await tf.setBackend("wasm");
      const fused = trainingCall(new FusedTrainingBatchNorm(config), shape, seed);
      await tf.setBackend("cpu");
      const ref = trainingCall(tf.layers.batchNormalization(config), shape, seed);
      for (const k of Object.keys(ref) as (keyof Run)[]) {
        const scale = Math.max(1, ...Array.from(ref[k], Math.abs));
        expect(maxAbsDiff(fused[k], ref[k]) / scale, `${k} at [${shape}]`).toBeLessThan(2e-5);
      }
    }
  });

  it("runs the fused kernel on wasm in training only, and tfjs' path otherwise", async () => {
    await tf.setBackend("wasm");
    const layer = new FusedTrainingBatchNorm({});
    const x = tf.tensor(values([2, 3, 3, 4], 5, 0.5), [2, 3, 3, 4]);
    layer.apply(x, { training: false });
    const kernelsOf = async (training: boolean) =>
      (await tf.profile(() => layer.apply(x, { training }) as tf.Tensor)).kernels.map(
        (k) => k.name,
      );
    expect(await kernelsOf(true)).toContain(BatchNormTraining);
    expect(await kernelsOf(false)).not.toContain(BatchNormTraining);
    await tf.setBackend("cpu");
    const onCpu = new FusedTrainingBatchNorm({});
    expect(
      await (async () =>
        (await tf.profile(() => onCpu.apply(x, { training: true }) as tf.Tensor)).kernels.map(
          (k) => k.name,
        ))(),
    ).not.toContain(BatchNormTraining);
    // Saved as tfjs' own layer, so a saved model loads anywhere.
    expect(layer.getClassName()).toBe("BatchNormalization");
    x.dispose();
  });

  it("gradients through the batch statistics equal the composed tf.moments formulas", async () => {
    const shape = [3, 4, 5, 6];
    const eps = 1e-3;
    const loss = (
      stats: (x: tf.Tensor, g: tf.Tensor1D, b: tf.Tensor1D) => tf.Tensor[],
    ): Float32Array[] => {
      const x = tf.tensor(values(shape, 7, 0.4), shape);
      const g = tf.tensor1d(values([6], 8)).add(1) as tf.Tensor1D;
      const b = tf.tensor1d(values([6], 9)) as tf.Tensor1D;
      const w = [10, 11, 12, 13].map((s, i) =>
        tf.tensor(values(i === 0 ? shape : [6], s), i === 0 ? shape : [6]),
      );
      const grads = tf.grads((xv: tf.Tensor, gv: tf.Tensor, bv: tf.Tensor) =>
        tf.addN(
          stats(xv, gv as tf.Tensor1D, bv as tf.Tensor1D).map((t, i) => tf.sum(tf.mul(t, w[i]!))),
        ),
      )([x, g, b]);
      const out = grads.map((t) => t.dataSync() as Float32Array);
      tf.dispose([x, g, b, ...w, ...grads]);
      return out;
    };
    await tf.setBackend("wasm");
    const fused = loss((x, g, b) => batchNormTraining(x, g, b, eps));
    await tf.setBackend("cpu");
    const composed = loss((x, g, b) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const rstd = tf.rsqrt(tf.add(variance, eps));
      return [tf.add(tf.mul(tf.mul(tf.sub(x, mean), rstd), g), b), mean, variance, rstd];
    });
    for (let i = 0; i < 3; i++) {
      const scale = Math.max(1, ...Array.from(composed[i]!, Math.abs));
      expect(
        maxAbsDiff(fused[i]!, composed[i]!) / scale,
        ["dx", "dgamma", "dbeta"][i],
      ).toBeLessThan(2e-5);
    }
  });

  it("frees its scratch memory and leaks no tensors", async () => {
    await tf.setBackend("wasm");
    const layer = new FusedTrainingBatchNorm({});
    const x = tf.tensor(values([2, 4, 4, 8], 14, 0.3), [2, 4, 4, 8]);
    const step = () => {
      const g = tf.grad((xv: tf.Tensor) =>
        tf.sum(tf.square(layer.apply(xv, { training: true }) as tf.Tensor)),
      )(x);
      g.dispose();
    };
    step();
    const before = { ...tf.memory(), ids: tf.backend().numDataIds() };
    for (let i = 0; i < 5; i++) step();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.backend().numDataIds()).toBe(before.ids);
    x.dispose();
  });
});
