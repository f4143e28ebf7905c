import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initWasmBackend } from "../../../compiler/backends/tfjs/kernels/wasmInit.js";
import { fusedMomentum } from "../../../compiler/backends/tfjs/fusedMomentum.js";
import { MomentumUpdate } from "../../../compiler/backends/tfjs/kernels/momentum.js";
import { setKernelThreads } from "../../../compiler/backends/tfjs/kernels/pool.js";
import { mulberry32 as prng } from "../../../compiler/util/random.js";

// The fused momentum step (one ArchcMomentumUpdate call a variable) against tfjs' own
// MomentumOptimizer: the same bits after several steps, with and without Nesterov, on one
// thread and on the kernel pool, for sizes with a scalar tail and sizes the pool cuts.

const SHAPES = [[7], [3, 3, 5, 9], [130, 131], [1]];

/** Values, momentum slots and the counts of kernel calls after `steps` steps of `make`'s optimizer. */
async function train(
  make: () => tf.Optimizer,
  steps: number,
): Promise<{ values: Float32Array[]; slots: Float32Array[]; calls: Map<string, number> }> {
  const rand = prng(7);
  const draw = (shape: number[]) =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1),
      shape,
    );
  const vars = SHAPES.map((s, i) => tf.variable(draw(s), true, `fm_${i}_${Math.random()}`));
  const opt = make();
  let calls = new Map<string, number>();
  for (let step = 0; step < steps; step++) {
    const grads = Object.fromEntries(vars.map((v) => [v.name, draw(v.shape)]));
    // A learning-rate change mid-run, as a schedule makes it.
    if (step === 2) (opt as unknown as { setLearningRate(lr: number): void }).setLearningRate(0.3);
    const profile = await tf.profile(() => opt.applyGradients(grads));
    calls = new Map();
    for (const k of profile.kernels) calls.set(k.name, (calls.get(k.name) ?? 0) + 1);
    tf.dispose(Object.values(grads));
  }
  const weights = await opt.getWeights();
  const slots = await Promise.all(
    weights.slice(1).map(async (w) => (await w.tensor.data()) as Float32Array),
  );
  const values = await Promise.all(vars.map(async (v) => (await v.data()) as Float32Array));
  opt.dispose();
  tf.dispose(vars);
  return { values, slots, calls };
}

beforeAll(async () => {
  await initWasmBackend({ threads: 2 });
});

describe("the fused momentum step", () => {
  it.each([
    [false, 1],
    [false, 2],
    [true, 1],
    [true, 2],
  ] as const)(
    "is tfjs' MomentumOptimizer bit for bit (nesterov %s, %i thread(s))",
    async (nesterov, threads) => {
      await tf.setBackend("wasm");
      setKernelThreads(threads);
      try {
        const want = await train(() => tf.train.momentum(0.05, 0.9, nesterov), 4);
        const got = await train(() => fusedMomentum(0.05, 0.9, nesterov), 4);
        expect(got.values).toEqual(want.values);
        expect(got.slots).toEqual(want.slots);
        // One call a variable, and nothing else.
        expect([...got.calls]).toEqual([[MomentumUpdate, SHAPES.length]]);
        expect(want.calls.get(tf.Multiply)).toBe((nesterov ? 3 : 2) * SHAPES.length);
      } finally {
        setKernelThreads(undefined);
      }
    },
  );

  it("falls back to tfjs' step on a backend without the kernel (cpu), with the same numbers", async () => {
    await tf.setBackend("cpu");
    const want = await train(() => tf.train.momentum(0.05, 0.9), 3);
    const got = await train(() => fusedMomentum(0.05, 0.9), 3);
    expect(got.values).toEqual(want.values);
    expect(got.slots).toEqual(want.slots);
    expect(got.calls.has(MomentumUpdate)).toBe(false);
  });

  it("keeps tfjs' class name and config, so checkpoints read it as Momentum", () => {
    const opt = fusedMomentum(0.1, 0.8, true);
    expect(opt.getClassName()).toBe("Momentum");
    expect(opt.getConfig()).toEqual({ learningRate: 0.1, momentum: 0.8, useNesterov: true });
    opt.dispose();
  });
});
