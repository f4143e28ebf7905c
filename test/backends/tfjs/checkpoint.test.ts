import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  checkpointedVariableGrads,
  chooseRecomputed,
  estimatePeak,
  heapOverLive,
  planCheckpoints,
  planFor,
  trainingNeedsCheckpoints,
} from "../../../compiler/backends/tfjs/checkpoint.js";
import { frugalGradients, frugalVariableGrads } from "../../../compiler/backends/tfjs/gradients.js";
import { WASM_HEAP_BYTES } from "../../../compiler/backends/tfjs/grouped/index.js";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
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

/**
 * The most bytes of tensor data alive at once while `f` runs, over what was alive before:
 * each buffer once (tf.profile's peakBytes counts a tensor and its clones, which share one
 * buffer, apart; the tape saves clones).
 */
function livePeak(f: () => void): number {
  const engine = tf.engine() as unknown as {
    trackTensor(t: tf.Tensor, b: unknown): void;
    removeDataId(d: object, b: unknown): void;
    state: {
      tensorInfo: { has(d: object): boolean; get(d: object): { bytes: number; backend: unknown } };
    };
  };
  const [track, remove] = [engine.trackTensor, engine.removeDataId];
  let live = 0;
  let peak = 0;
  engine.trackTensor = function (t, b) {
    const had = engine.state.tensorInfo.has(t.dataId);
    track.call(engine, t, b);
    if (!had && engine.state.tensorInfo.has(t.dataId)) {
      live += engine.state.tensorInfo.get(t.dataId).bytes;
      peak = Math.max(peak, live);
    }
  };
  engine.removeDataId = function (d, b) {
    const info = engine.state.tensorInfo.has(d) ? engine.state.tensorInfo.get(d) : undefined;
    remove.call(engine, d, b);
    if (info && info.backend === b && !engine.state.tensorInfo.has(d)) live -= info.bytes;
  };
  try {
    f();
  } finally {
    engine.trackTensor = track;
    engine.removeDataId = remove;
  }
  return peak;
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
    it(`gives tf.variableGrads' gradients bit for bit on mini_xception with ${which} memory to spare, batch norm's averages updated once`, async () => {
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
      expect(await ours.value.data()).toEqual(await plain.value.data());
      await expectIdentical(ours.grads, plain.grads);
      // Moving means and variances: updated once, as by the plain step (not once per pass).
      const afterOurs = m.getWeights();
      for (let i = 0; i < afterOurs.length; i++) {
        expect(Array.from(await afterOurs[i]!.data()), m.weights[i]!.name).toEqual(
          Array.from(await afterPlain[i]!.data()),
        );
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

  it("estimates a step's peak on the safe side on wasm, and recomputation lowers the real peak", async () => {
    // On wasm, the backend the estimate was measured on (and whose 4 GiB heap it guards).
    await initBackend("wasm");
    await tf.setBackend("wasm");
    try {
      await safeSide();
    } finally {
      await tf.setBackend("cpu");
    }
  });

  async function safeSide(): Promise<void> {
    const m = model({ dropout: 0 });
    const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
    const { x, y } = batch(32);
    const plan = planFor(m);
    const least = chooseRecomputed(plan, 32, 0).peakBytes;
    const plainBytes = chooseRecomputed(plan, 32, Infinity).plainBytes;
    const peaks: number[] = [];
    for (const budget of [0, (least + plainBytes) / 2, 1e12]) {
      const choice = chooseRecomputed(plan, 32, budget);
      const step = (): void => {
        const r = checkpointedVariableGrads(m, x, lossOf(y), vars, { budget });
        expect(r.recomputed).toEqual(choice.recompute.flatMap((on, s) => (on ? [s] : [])));
        tf.dispose([r.value, ...Object.values(r.grads)]);
      };
      step(); // the optimizer-free step allocates nothing that outlives it: measure the second
      const peak = livePeak(step);
      peaks.push(peak);
      // The estimate is of the heap (live bytes times heapOverLive); the live part alone
      // must not be below what the step held, nor far above it (a useless estimate).
      const live = choice.peakBytes / heapOverLive;
      expect(live, `budget ${budget}`).toBeGreaterThanOrEqual(peak);
      expect(live, `budget ${budget}`).toBeLessThan(2.5 * peak);
    }
    expect(peaks[0]!).toBeLessThan(peaks[2]!);
    expect(peaks[1]!).toBeLessThanOrEqual(peaks[2]!);
    tf.dispose([x, y]);
    m.dispose();
  }

  it("cuts where few tensors are live, inside residual blocks too, and never before a dropout", () => {
    const m = model({ dropout: 0.5 });
    const plan = planCheckpoints(m, 8);
    expect(plan.starts.length).toBeGreaterThan(2);
    const dropout = plan.steps.findIndex((s) => s.layer.getClassName() === "Dropout");
    expect(dropout).toBeGreaterThan(0);
    expect(plan.starts[plan.starts.length - 1]!).toBeLessThanOrEqual(dropout);
    // Each boundary is exactly the set of tensors made before it that a later step reads.
    plan.starts.slice(1).forEach((start, k) => {
      const made = new Set([plan.input, ...plan.steps.slice(0, start).flatMap((s) => s.outputs)]);
      const read = new Set(
        plan.steps.slice(start).flatMap((s) => s.inputs.filter((i) => made.has(i))),
      );
      expect([...read].sort((a, b) => a - b)).toEqual(plan.boundaries[k + 1]);
    });
    // Some cut falls inside a residual block: the branch's input and the main path's tensor.
    expect(plan.boundaries.some((b) => b.length === 2)).toBe(true);
    m.dispose();
  });
});

/**
 * A small Inception-style network: each block feeds its input to three branches (1x1; 3x3
 * then ReLU; max pool then 1x1) whose outputs are concatenated, normalised, projected and
 * added back to the block's input. Cuts inside a block hand on up to four tensors.
 */
function inception(): tf.LayersModel {
  const input = tf.input({ shape: [9, 9, 3] });
  const conv = (x: tf.SymbolicTensor, filters: number, k: number, name: string) =>
    tf.layers
      .conv2d({
        filters,
        kernelSize: k,
        padding: "same",
        name,
        kernelInitializer: "glorotNormal",
        biasInitializer: "randomNormal",
      })
      .apply(x) as tf.SymbolicTensor;
  const bn = (x: tf.SymbolicTensor, name: string) =>
    tf.layers.batchNormalization({ name, momentum: 0.9 }).apply(x) as tf.SymbolicTensor;
  const relu = (x: tf.SymbolicTensor, name: string) =>
    tf.layers.activation({ activation: "relu", name }).apply(x) as tf.SymbolicTensor;
  let x = relu(bn(conv(input, 6, 3, "stem"), "stem_bn"), "stem_relu");
  for (const b of ["a", "b"]) {
    const one = conv(x, 3, 1, `${b}_1x1`);
    const three = relu(conv(x, 5, 3, `${b}_3x3`), `${b}_3x3_relu`);
    const pooled = tf.layers
      .maxPooling2d({ poolSize: 3, strides: 1, padding: "same", name: `${b}_pool` })
      .apply(x) as tf.SymbolicTensor;
    const pool = conv(pooled, 2, 1, `${b}_pool_1x1`);
    const cat = tf.layers
      .concatenate({ name: `${b}_cat` })
      .apply([one, three, pool]) as tf.SymbolicTensor;
    const proj = conv(bn(cat, `${b}_bn`), 6, 1, `${b}_proj`);
    x = relu(
      tf.layers.add({ name: `${b}_add` }).apply([x, proj]) as tf.SymbolicTensor,
      `${b}_relu`,
    );
  }
  const pooled = tf.layers.globalAveragePooling2d({ name: "gap" }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({ units: 10, activation: "softmax", name: "head" })
    .apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

function inceptionBatch(n = 3): { x: tf.Tensor; y: tf.Tensor } {
  const x = tf.tensor4d(
    Float32Array.from({ length: n * 9 * 9 * 3 }, (_, i) => Math.cos(i * 0.53)),
    [n, 9, 9, 3],
  );
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: n }, (_, i) => (3 * i + 2) % 10),
      "int32",
    ),
    10,
  );
  return { x, y };
}

/** Bit for bit: the same kernels on the same values, the sums added in the same order. */
async function expectIdentical(a: tf.NamedTensorMap, b: tf.NamedTensorMap): Promise<void> {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const k of Object.keys(a)) {
    expect(Array.from(await a[k]!.data()), k).toEqual(Array.from(await b[k]!.data()));
  }
}

describe("checkpointing with cuts inside blocks", () => {
  const cases = [
    {
      name: "mini_xception (residual blocks)",
      make: () => model({ dropout: 0 }),
      data: () => batch(),
      // Its default plan (about sqrt(layers) segments) is tested above; finer here.
      segmentCounts: [12],
    },
    {
      name: "an Inception-style network (concatenated branches)",
      make: inception,
      data: () => inceptionBatch(),
      segmentCounts: [6, 12],
    },
  ];
  for (const c of cases) {
    for (const segments of c.segmentCounts) {
      for (const which of ["none", "partial", "ample"] as const) {
        it(`gives tf.variableGrads' gradients bit for bit: ${c.name}, ${segments} segments, ${which} memory to spare`, async () => {
          const m = c.make();
          const plan = planFor(m, segments);
          // The plan cuts where several tensors are live, some passing through a segment.
          expect(plan.boundaries.some((b) => b.length >= 2)).toBe(true);
          const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
          const start = m.getWeights().map((w) => tf.keep(w.clone()));
          const { x, y } = c.data();
          const n = x.shape[0]!;
          const least = chooseRecomputed(plan, n, 0).peakBytes;
          const plainBytes = chooseRecomputed(plan, n, Infinity).plainBytes;
          const budget = which === "none" ? 0 : which === "ample" ? 1e12 : (least + plainBytes) / 2;
          const plain = tf.variableGrads(
            () => lossOf(y)(m.apply(x, { training: true }) as tf.Tensor),
            vars,
          );
          const afterPlain = m.getWeights().map((w) => tf.keep(w.clone()));
          m.setWeights(start);
          const before = tf.memory().numTensors;
          const ours = checkpointedVariableGrads(m, x, lossOf(y), vars, { segments, budget });
          expect(ours.segments).toBe(plan.starts.length);
          if (which === "none") expect(ours.recomputed.length).toBe(ours.segments - 1);
          if (which === "partial") {
            expect(ours.recomputed.length).toBeGreaterThan(0);
            expect(ours.recomputed.length).toBeLessThan(ours.segments - 1);
          }
          if (which === "ample") expect(ours.recomputed).toEqual([]);
          expect(tf.memory().numTensors).toBe(before + 1 + Object.keys(ours.grads).length);
          expect(await ours.value.data()).toEqual(await plain.value.data());
          await expectIdentical(ours.grads, plain.grads);
          // Batch norm's moving averages: updated once, as by the plain step.
          const afterOurs = m.getWeights();
          for (let i = 0; i < afterOurs.length; i++) {
            expect(Array.from(await afterOurs[i]!.data()), m.weights[i]!.name).toEqual(
              Array.from(await afterPlain[i]!.data()),
            );
          }
          tf.dispose([plain.value, ours.value, x, y, ...start, ...afterPlain]);
          tf.dispose([...Object.values(plain.grads), ...Object.values(ours.grads)]);
          m.dispose();
        });
      }
    }
  }

  it("keeps dropout's masks: the random layers stay in the last segment, never recomputed", async () => {
    const m = model({ dropout: 0.5 });
    const plan = planFor(m, 12);
    const dropout = plan.steps.findIndex((s) => s.layer.getClassName() === "Dropout");
    expect(plan.starts[plan.starts.length - 1]!).toBeLessThanOrEqual(dropout);
    expect(chooseRecomputed(plan, 4, 0).recompute[plan.starts.length - 1]).toBe(false);
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
    segmentExtra: [0, 0, 0, 0],
    boundaryBytes: [1, 1, 1],
    segmentCost: [10, 40, 20, 5],
    weightBytes: 0,
  };

  it("recomputes nothing where a plain step fits, the cheapest bytes first, and all at worst", () => {
    // The estimate is of the heap: the live bytes times heapOverLive.
    const h = heapOverLive;
    const plain = chooseRecomputed(plan, 1, Infinity).plainBytes;
    expect(plain).toBeCloseTo(260 * h);
    expect(chooseRecomputed(plan, 1, 260 * h).recompute).toEqual([false, false, false, false]);
    // 160 kept once the first goes (plus its boundary); the second would cost four times more.
    const one = chooseRecomputed(plan, 1, 170 * h);
    expect(one.recompute).toEqual([true, false, false, false]);
    expect(one.peakBytes).toBeLessThanOrEqual(170 * h);
    expect(one.recomputedShare).toBeCloseTo(10 / 75);
    const two = chooseRecomputed(plan, 1, 110 * h);
    expect(two.recompute).toEqual([true, true, false, false]);
    // Below the least there is: every segment but the last, as the plan was before.
    expect(chooseRecomputed(plan, 1, 50 * h).recompute).toEqual([true, true, true, false]);
    // Batch scales the activations: what fits one example does not fit four.
    expect(chooseRecomputed(plan, 4, 260 * h).recompute.some(Boolean)).toBe(true);
  });

  /** The least recomputation (multiply-accumulates) whose estimate fits, over every choice. */
  function cheapest(p: typeof plan, n: number, budget: number): number {
    const k = p.starts.length - 1;
    let best = Infinity;
    for (let mask = 0; mask < 2 ** k; mask++) {
      const r = p.starts.map((_, s) => s < k && ((mask >> s) & 1) === 1);
      if (estimatePeak(p, n, r) > budget) continue;
      best = Math.min(
        best,
        r.reduce((a, on, s) => a + (on ? p.segmentCost[s]! : 0), 0),
      );
    }
    return best;
  }

  it("recomputes the least a budget allows: as little as trying every choice finds", () => {
    // Random plans (a fixed generator) where greedy-by-ratio is not always optimal, and the
    // plans of real networks cut finely, each over budgets from the least to a plain step.
    let seed = 7;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const plans: (typeof plan)[] = [];
    for (let t = 0; t < 30; t++) {
      const k = 3 + Math.floor(rand() * 9);
      plans.push({
        ...plan,
        starts: Array.from({ length: k }, (_, s) => s),
        segmentBytes: Array.from({ length: k }, () => 10 + Math.floor(rand() * 200)),
        segmentExtra: Array.from({ length: k }, () => Math.floor(rand() * 60)),
        boundaryBytes: Array.from({ length: k - 1 }, () => 1 + Math.floor(rand() * 20)),
        segmentCost: Array.from({ length: k }, () => 1 + Math.floor(rand() * 100)),
        weightBytes: Math.floor(rand() * 100),
      });
    }
    const real = [model({ dropout: 0 }), inception()];
    for (const m of real) plans.push(planFor(m, 12) as typeof plan);
    let checked = 0;
    for (const p of plans) {
      const n = p === plans[plans.length - 1] || p === plans[plans.length - 2] ? 4 : 1;
      const least = chooseRecomputed(p, n, 0).peakBytes;
      const plainBytes = chooseRecomputed(p, n, Infinity).plainBytes;
      for (let i = 0; i <= 20; i++) {
        const budget = least + (i / 20) * (plainBytes - least);
        const choice = chooseRecomputed(p, n, budget);
        expect(choice.peakBytes).toBeLessThanOrEqual(budget);
        const total = p.segmentCost.reduce((a, b) => a + b, 0);
        expect(choice.recomputedShare * total).toBeCloseTo(cheapest(p, n, budget), 6);
        checked++;
      }
    }
    expect(checked).toBe(21 * plans.length);
    for (const m of real) m.dispose();
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
