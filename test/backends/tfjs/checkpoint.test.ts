import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  checkpointedVariableGrads,
  chooseRecomputed,
  planCheckpoints,
  planFor,
  trainingNeedsCheckpoints,
} from "../../../compiler/backends/tfjs/checkpoint.js";
import { frugalGradients, frugalVariableGrads } from "../../../compiler/backends/tfjs/gradients.js";
import { WASM_HEAP_BYTES } from "../../../compiler/backends/tfjs/grouped/index.js";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { compileSpec } from "../../../compiler/index.js";
import { packageRoot } from "../../../compiler/language/paths.js";

// The frugal backward pass and gradient checkpointing must give tfjs' own gradients, leave
// batch norm's moving averages as one plain training step does, and leak nothing.

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const spec = join(packageRoot, "specs", "mini_xception.arch");

function model(args: Record<string, number>): tf.LayersModel {
  return buildModelFromIR(compileSpec(spec, { args: { size: 12, width: 8, ...args } }));
}

function batch(n = 4): { x: tf.Tensor; y: tf.Tensor } {
  const x = tf.tensor4d(
    Float32Array.from({ length: n * 12 * 12 }, (_, i) => Math.sin(i * 0.37)),
    [n, 12, 12, 1],
  );
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: n }, (_, i) => (2 * i + 1) % 10),
      "int32",
    ),
    10,
  );
  return { x, y };
}

/** A budget between the plan's least memory (every segment but the last recomputed) and a plain step's. */
function partialBudget(m: tf.LayersModel, n: number): number {
  const plan = planFor(m);
  const least = chooseRecomputed(plan, n, 0).peakBytes;
  const plain = chooseRecomputed(plan, n, Infinity).plainBytes;
  return (least + plain) / 2;
}

const lossOf =
  (y: tf.Tensor) =>
  (out: tf.Tensor): tf.Scalar =>
    tf.neg(tf.mean(tf.sum(tf.mul(y, tf.log(tf.clipByValue(out, 1e-7, 1))), -1))) as tf.Scalar;

async function expectSame(a: tf.NamedTensorMap, b: tf.NamedTensorMap): Promise<void> {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const k of Object.keys(a)) {
    const [p, q] = [await a[k]!.data(), await b[k]!.data()];
    let worst = 0;
    for (let i = 0; i < p.length; i++) worst = Math.max(worst, Math.abs(p[i]! - q[i]!));
    const scale = Math.max(1e-3, ...Array.from(q, Math.abs));
    expect(worst / scale, k).toBeLessThan(1e-5);
  }
}

describe("frugalGradients", () => {
  it("gives tfjs' gradients, frees the backward pass's tensors, and honours dy", async () => {
    const a = tf.variable(tf.tensor2d([1, -2, 3, 0.5], [2, 2]), true, "fg_a");
    const b = tf.tensor2d([0.25, 2, -1, 4], [2, 2]);
    const f = (): tf.Scalar => tf.sum(tf.relu(tf.matMul(tf.tanh(a), tf.add(b, a))));
    const theirs = tf.variableGrads(f, [a]);
    const before = tf.memory().numTensors;
    const ours = frugalVariableGrads(f, [a]);
    expect(tf.memory().numTensors).toBe(before + 2); // the value and one gradient
    await expectSame(ours.grads, theirs.grads);
    const withDy = frugalGradients(() => tf.mul(a, b), [a, b], tf.scalar(3));
    expect(Array.from(await withDy.grads[0]!.data())).toEqual([0.75, 6, -3, 12]);
    expect(Array.from(await withDy.grads[1]!.data())).toEqual([3, -6, 9, 1.5]);
    expect(() => frugalVariableGrads(() => tf.mul(a, 2) as tf.Scalar, [a])).toThrow(/scalar/);
    tf.dispose([ours.value, theirs.value, withDy.value, ...withDy.grads.map((g) => g!), b, a]);
    tf.dispose([...Object.values(ours.grads), ...Object.values(theirs.grads)]);
  });
});

describe("checkpointedVariableGrads", () => {
  // Budgets: none to spare (today's plan: every segment but the last recomputed), half-way
  // (some recomputed), and more than a plain step needs (none recomputed).
  for (const which of ["none", "partial", "ample"] as const) {
    it(`matches tf.variableGrads on mini_xception with ${which} memory to spare, batch norm's averages updated once`, async () => {
      const m = model({ dropout: 0 });
      const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
      const start = m.getWeights().map((w) => tf.keep(w.clone()));
      const { x, y } = batch();
      const budget = which === "none" ? 0 : which === "ample" ? 1e12 : partialBudget(m, 4);

      const plain = tf.variableGrads(
        () => lossOf(y)(m.apply(x, { training: true }) as tf.Tensor),
        vars,
      );
      const afterPlain = m.getWeights().map((w) => tf.keep(w.clone()));
      m.setWeights(start);

      const before = tf.memory().numTensors;
      const ours = checkpointedVariableGrads(m, x, lossOf(y), vars, { budget });
      expect(ours.segments).toBeGreaterThanOrEqual(3);
      const recomputed = ours.recomputed.length;
      if (which === "none") expect(recomputed).toBe(ours.segments - 1);
      if (which === "partial") expect(recomputed > 0 && recomputed < ours.segments - 1).toBe(true);
      if (which === "ample") expect(recomputed).toBe(0);
      expect(tf.memory().numTensors).toBe(before + 1 + Object.keys(ours.grads).length);
      expect(Math.abs((await ours.value.data())[0]! - (await plain.value.data())[0]!)).toBeLessThan(
        1e-6,
      );
      await expectSame(ours.grads, plain.grads);
      // Moving means and variances: updated once, as by the plain step (not once per pass).
      const afterOurs = m.getWeights();
      for (let i = 0; i < afterOurs.length; i++) {
        const d = tf.max(tf.abs(tf.sub(afterOurs[i]!, afterPlain[i]!))).dataSync()[0]!;
        expect(d, m.weights[i]!.name).toBeLessThan(1e-6);
      }
      tf.dispose([plain.value, ours.value, x, y, ...start, ...afterPlain]);
      tf.dispose([...Object.values(plain.grads), ...Object.values(ours.grads)]);
      m.dispose();
    });
  }

  it("re-runs only the segments the budget requires, fewer as the budget grows", () => {
    const m = model({ dropout: 0 });
    const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
    const plan = planFor(m);
    // Count each layer's forward runs by wrapping it: a structural count, not a timing.
    const runs = new Map<tf.layers.Layer, number>();
    for (const step of plan.steps) {
      const apply = step.layer.apply.bind(step.layer);
      step.layer.apply = ((...args: Parameters<typeof apply>) => {
        runs.set(step.layer, (runs.get(step.layer) ?? 0) + 1);
        return apply(...args);
      }) as typeof step.layer.apply;
    }
    const n = plan.starts.length;
    const least = chooseRecomputed(plan, 4, 0).peakBytes;
    const plain = chooseRecomputed(plan, 4, Infinity).plainBytes;
    let previous = Infinity;
    for (const budget of [
      0,
      least,
      ...[0.25, 0.5, 0.75, 0.95].map((f) => least + f * (plain - least)),
      plain,
      1e12,
    ]) {
      runs.clear();
      const { x, y } = batch();
      const r = checkpointedVariableGrads(m, x, lossOf(y), vars, { budget });
      const reruns = plan.starts.map((start) => runs.get(plan.steps[start]!.layer)! - 1);
      // Every layer of a segment runs as often as its first: once, or twice where recomputed.
      plan.steps.forEach((step, i) => {
        const s = plan.starts.filter((start) => start <= i).length - 1;
        expect(runs.get(step.layer), step.layer.name).toBe(1 + reruns[s]!);
      });
      expect(
        reruns.flatMap((k, s) => (k ? [s] : [])),
        `budget ${budget}`,
      ).toEqual(r.recomputed);
      expect(reruns[n - 1]).toBe(0);
      const count = reruns.reduce((a, b) => a + b, 0);
      if (budget < least) expect(count).toBe(n - 1);
      if (budget >= plain) expect(count).toBe(0);
      expect(count).toBeLessThanOrEqual(previous);
      previous = count;
      tf.dispose([x, y, r.value, ...Object.values(r.grads)]);
    }
    m.dispose();
  });

  it("keeps a step's peak memory under a budget that a plain step exceeds", async () => {
    const m = model({ dropout: 0 });
    const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
    const { x, y } = batch(32);
    // tf.profile hands back one object that the next profile overwrites: read it at once.
    const plainPeak = (
      await tf.profile(() => {
        const r = frugalVariableGrads(
          () => lossOf(y)(m.apply(x, { training: true }) as tf.Tensor),
          vars,
        );
        tf.dispose([r.value, ...Object.values(r.grads)]);
      })
    ).peakBytes;
    // Just under what the plain step took: it would not fit.
    const budget = 0.98 * plainPeak;
    const choice = chooseRecomputed(planFor(m), 32, budget);
    expect(choice.peakBytes).toBeLessThanOrEqual(budget);
    const recomputed = choice.recompute.filter(Boolean).length;
    expect(recomputed > 0 && recomputed < choice.recompute.length - 1).toBe(true);
    const ours = (
      await tf.profile(() => {
        const r = checkpointedVariableGrads(m, x, lossOf(y), vars, { budget });
        expect(r.recomputed.length).toBe(recomputed);
        tf.dispose([r.value, ...Object.values(r.grads)]);
      })
    ).peakBytes;
    expect(ours).toBeLessThanOrEqual(budget);
    // And the recomputation is what keeps it there: with nothing recomputed it takes more.
    const kept = (
      await tf.profile(() => {
        const r = checkpointedVariableGrads(m, x, lossOf(y), vars, { budget: 1e12 });
        expect(r.recomputed).toEqual([]);
        tf.dispose([r.value, ...Object.values(r.grads)]);
      })
    ).peakBytes;
    expect(ours).toBeLessThan(kept);
    tf.dispose([x, y]);
    m.dispose();
  });

  it("cuts only where one tensor is live, and never before a dropout", () => {
    const m = model({ dropout: 0.5 });
    const plan = planCheckpoints(m, 8);
    expect(plan.starts.length).toBeGreaterThan(2);
    const dropout = plan.steps.findIndex((s) => s.layer.getClassName() === "Dropout");
    expect(dropout).toBeGreaterThan(0);
    expect(plan.starts[plan.starts.length - 1]!).toBeLessThanOrEqual(dropout);
    // Each boundary is the only tensor that a later segment reads from an earlier one.
    plan.starts.slice(1).forEach((start, k) => {
      const made = new Set([plan.input, ...plan.steps.slice(0, start).flatMap((s) => s.outputs)]);
      const read = new Set(
        plan.steps.slice(start).flatMap((s) => s.inputs.filter((i) => made.has(i))),
      );
      expect([...read]).toEqual([plan.boundaries[k + 1]]);
    });
    m.dispose();
  });
});

describe("chooseRecomputed", () => {
  // Four segments as the planner sees them (per example; no weights): the first two hold as
  // much as each other, but the first is four times cheaper to run again.
  const plan = {
    ...planFor(tf.sequential()),
    starts: [0, 1, 2, 3],
    segmentBytes: [100, 100, 40, 20],
    boundaryBytes: [1, 1, 1],
    segmentCost: [10, 40, 20, 5],
    weightBytes: 0,
  };

  it("recomputes nothing where a plain step fits, the cheapest bytes first, and all at worst", () => {
    const plain = chooseRecomputed(plan, 1, Infinity).plainBytes;
    expect(plain).toBe(260);
    expect(chooseRecomputed(plan, 1, 260).recompute).toEqual([false, false, false, false]);
    // 160 kept once the first goes (plus its boundary); the second would cost four times more.
    const one = chooseRecomputed(plan, 1, 170);
    expect(one.recompute).toEqual([true, false, false, false]);
    expect(one.peakBytes).toBeLessThanOrEqual(170);
    expect(one.recomputedShare).toBeCloseTo(10 / 75);
    const two = chooseRecomputed(plan, 1, 110);
    expect(two.recompute).toEqual([true, true, false, false]);
    // Below the least there is: every segment but the last, as the plan was before.
    expect(chooseRecomputed(plan, 1, 50).recompute).toEqual([true, true, true, false]);
    // Batch scales the activations: what fits one example does not fit four.
    expect(chooseRecomputed(plan, 4, 260).recompute.some(Boolean)).toBe(true);
  });
});

describe("a model that cannot be cut", () => {
  it("trains in one segment (no recomputation) with the same gradients", async () => {
    const input = tf.input({ shape: [3] });
    const shared = tf.layers.dense({ units: 3, activation: "tanh" });
    const out = tf.layers
      .dense({ units: 2, activation: "softmax" })
      .apply(shared.apply(shared.apply(input))) as tf.SymbolicTensor;
    const m = tf.model({ inputs: input, outputs: out });
    expect(() => planCheckpoints(m)).toThrow(/used once/);
    const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
    const x = tf.tensor2d([0.5, -1, 2, 1, 0, -0.5], [2, 3]);
    const y = tf.tensor2d([1, 0, 0, 1], [2, 2]);
    const plain = tf.variableGrads(() => lossOf(y)(m.apply(x) as tf.Tensor), vars);
    const ours = checkpointedVariableGrads(m, x, lossOf(y), vars);
    expect(ours.segments).toBe(1);
    await expectSame(ours.grads, plain.grads);
    tf.dispose([x, y, plain.value, ours.value, ...Object.values(plain.grads)]);
    tf.dispose(Object.values(ours.grads));
    m.dispose();
  });
});

describe("trainingNeedsCheckpoints", () => {
  it("checkpoints Xception at 299x299, batch 8, in wasm's heap, and not mini_xception", () => {
    const budget = 0.85 * WASM_HEAP_BYTES;
    const xception = compileSpec(join(packageRoot, "specs", "xception.arch"));
    expect(trainingNeedsCheckpoints(xception, 8, budget)).toBe(true);
    expect(trainingNeedsCheckpoints(xception, 8, 1e12)).toBe(false);
    expect(trainingNeedsCheckpoints(compileSpec(spec), 32, budget)).toBe(false);
  });
});
