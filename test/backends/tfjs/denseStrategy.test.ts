import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initWasmBackend } from "../../../compiler/backends/tfjs/kernels/wasmInit.js";
import {
  STRATEGIES,
  blockDiagonalKernel,
  candidateStrategies,
  denseInferenceConv,
  denseInferenceKernel,
  type ConvShape,
  type StrategyName,
} from "../../../compiler/backends/tfjs/grouped/index.js";
import { mulberry32 as prng } from "../../../compiler/util/random.js";
import { maxAbsDiff, type Shape4, size, uniform } from "./numbers.js";

// The `dense` strategy (one regular conv2d with the block-diagonal kernel, its gradients the
// dense conv's own read back on the diagonal blocks) on wasm, against `split` on the cpu backend
// and `native` on wasm: forward, input gradient and filter gradient, at every divisor of 12.

const rand = prng(2026);
const values = (n: number): Float32Array => uniform(rand, n);

interface Case {
  x: Shape4;
  cout: number;
  groups: number;
  strides: number;
  dilation: number;
  padding: "same" | "valid";
}

const CASES: Case[] = [
  ...[1, 2, 3, 4, 6, 12].flatMap((groups) =>
    (["same", "valid"] as const).map((padding) => ({
      x: [2, 7, 9, 12] as Shape4,
      cout: 24,
      groups,
      strides: groups % 2 ? 1 : 2,
      dilation: 1,
      padding,
    })),
  ),
  { x: [1, 11, 10, 12], cout: 12, groups: 3, strides: 1, dilation: 2, padding: "same" },
];

/** y, dx and dk of sum(conv(x, k) * dy) by `name` on `backend`. */
async function forwardAndGrads(
  backend: "cpu" | "wasm",
  name: StrategyName,
  c: Case,
  xv: Float32Array,
  kv: Float32Array,
  dyv: Float32Array,
): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const opts = {
    groups: c.groups,
    strides: c.strides,
    dilationRate: c.dilation,
    padding: c.padding,
  };
  const result = tf.tidy(() => {
    const x = tf.tensor4d(xv, c.x);
    const k = tf.tensor4d(kv, [3, 3, c.x[3] / c.groups, c.cout]);
    const conv = (a: tf.Tensor, b: tf.Tensor) =>
      STRATEGIES[name](a as tf.Tensor4D, b as tf.Tensor4D, opts);
    const y = conv(x, k);
    const dy = tf.tensor(dyv.subarray(0, y.size), y.shape);
    const [dx, dk] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), dy)))([
      x,
      k,
    ]);
    return [y, dx!, dk!];
  });
  const out = await Promise.all(result.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose(result);
  return out;
}

const label = (c: Case) =>
  `${c.x.join("x")} -> ${c.cout}, groups ${c.groups}, stride ${c.strides}, dilation ${c.dilation}, ${c.padding}`;

beforeAll(async () => {
  await initWasmBackend({ threads: 2 });
});
afterAll(async () => {
  await tf.setBackend("cpu");
});

describe("dense on wasm matches split on cpu and native on wasm", () => {
  it.each(CASES.map((c) => [label(c), c] as const))("%s", async (_, c) => {
    const xv = values(size(c.x));
    const kv = values(9 * (c.x[3] / c.groups) * c.cout);
    const dyv = values(size(c.x) * c.cout);
    const want = await forwardAndGrads("cpu", "split", c, xv, kv, dyv);
    const dense = await forwardAndGrads("wasm", "dense", c, xv, kv, dyv);
    const native = await forwardAndGrads("wasm", "native", c, xv, kv, dyv);
    for (const [i, what] of ["y", "dx", "dk"].entries()) {
      expect(maxAbsDiff(dense[i]!, want[i]!), `dense ${what}`).toBeLessThan(1e-4);
      expect(maxAbsDiff(dense[i]!, native[i]!), `dense against native ${what}`).toBeLessThan(1e-4);
    }
  });

  it("the inference kernel, expanded once, gives the strategy's forward pass, and leaks nothing", async () => {
    await tf.setBackend("wasm");
    const before = tf.memory().numTensors;
    for (const c of CASES) {
      const opts = {
        groups: c.groups,
        strides: c.strides,
        dilationRate: c.dilation,
        padding: c.padding,
      };
      const [direct, expandedOnce] = tf.tidy(() => {
        const x = tf.tensor4d(values(size(c.x)), c.x);
        const k = tf.tensor4d(values(9 * (c.x[3] / c.groups) * c.cout), [
          3,
          3,
          c.x[3] / c.groups,
          c.cout,
        ]);
        const dense = denseInferenceKernel(k, opts);
        return [
          STRATEGIES.dense(x, k, opts).dataSync(),
          denseInferenceConv(x, dense, opts).dataSync(),
        ];
      });
      expect(maxAbsDiff(expandedOnce!, direct!), label(c)).toBe(0);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it("the block-diagonal kernel has the grouped kernel on its diagonal blocks and zeros elsewhere", () => {
    const k = tf.tensor4d(values(1 * 1 * 2 * 6), [1, 1, 2, 6]); // 3 groups of 2 -> 2
    const dense = blockDiagonalKernel(k, 3);
    expect(dense.shape).toEqual([1, 1, 6, 6]);
    const d = dense.dataSync();
    const kv = k.dataSync();
    for (let c = 0; c < 6; c++)
      for (let o = 0; o < 6; o++)
        // + 0: the mask's zeros times a negative weight are -0.
        expect(d[c * 6 + o]! + 0).toBe(
          Math.floor(c / 2) === Math.floor(o / 2) ? kv[(c % 2) * 6 + o] : 0,
        );
    tf.dispose([k, dense]);
  });
});

describe("the cost model times dense at the continuum's low end", () => {
  const shape = (groups: number): ConvShape => ({
    batch: 8,
    inHeight: 19,
    inWidth: 19,
    inChannels: 728,
    outChannels: 728,
    kernelHeight: 3,
    kernelWidth: 3,
    strides: [1, 1],
    dilation: [1, 1],
    padding: "same",
    groups,
  });
  it("as a candidate from 2 to 16 groups, whatever the prior says; never at 1 group or depthwise", () => {
    for (const g of [2, 4, 8, 16])
      expect(candidateStrategies(shape(g), { backend: "wasm" }), `groups ${g}`).toContain("dense");
    expect(candidateStrategies(shape(1), { backend: "wasm" })).not.toContain("dense");
    expect(candidateStrategies(shape(728), { backend: "wasm" })).not.toContain("dense");
  });
});
