import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initWasmBackend } from "../../../compiler/backends/tfjs/kernels/wasmInit.js";
import { setKernelThreads } from "../../../compiler/backends/tfjs/kernels/pool.js";
import { MIN_POOLED_WORK } from "../../../compiler/backends/tfjs/kernels/pooledRows.js";
import { installedReplacement } from "../../../compiler/backends/tfjs/kernels/register.js";
import {
  MAX_WEIGHTS,
  MIN_CI,
  PIXEL_BLOCK,
  K_BLOCK,
  pointwiseForward,
} from "../../../compiler/backends/tfjs/kernels/pointwiseForward.js";
import { mulberry32 as prng } from "../../../compiler/util/random.js";
import { maxAbsDiff, on, type Pad, type Shape4, size, uniform } from "./numbers.js";

// The 1x1 convolution GEMM (pointwiseForward.ts) against tfjs-backend-cpu: odd channel counts
// (tiles of 8, 4 and scalar columns), pixel counts that are not multiples of the 4-pixel tile
// or of the pixel block, more input channels than one K step, bias and activation variants of
// FusedConv2D, the cases that must stay on wasm's own kernel, and a gradient through it.

const rand = prng(20261209);
const values = (shape: readonly number[]): Float32Array => uniform(rand, size(shape));

interface Case {
  x: Shape4;
  co: number;
  pad: Pad;
  dilations?: number;
  bias?: boolean;
  activation?: "linear" | "relu" | "relu6" | "elu" | "prelu" | "leakyrelu";
}

const zeroPads: tf.backend_util.ExplicitPadding = [
  [0, 0],
  [0, 0],
  [0, 0],
  [0, 0],
];

function cases(): Case[] {
  const out: Case[] = [];
  for (const [ci, co] of [
    [MIN_CI, 1],
    [MIN_CI, 5],
    [MIN_CI + 4, 8],
    [MIN_CI + 7, 13],
    [MIN_CI + 8, 12],
    [MIN_CI + 1, 9],
    [MIN_CI + 13, 31],
    [K_BLOCK + 37, 19],
  ] as [number, number][])
    for (const x of [
      [1, 1, 1, ci],
      [1, 3, 5, ci],
      [2, 7, 9, ci],
    ] as Shape4[])
      out.push({ x, co, pad: "same" });
  out.push({ x: [1, 6, 5, MIN_CI + 2], co: 11, pad: "valid", dilations: 2 });
  out.push({ x: [2, 6, 5, MIN_CI + 2], co: 11, pad: 0 });
  out.push({ x: [2, 6, 5, MIN_CI + 2], co: 11, pad: zeroPads });
  // Several pixel blocks, the last one short: the kernel pool's tasks at two threads.
  out.push({ x: [3, 11, 13, 70], co: 90, pad: "same" });
  out.push({ x: [1, 19, 19, 72], co: 36, pad: "valid" });
  for (const activation of ["linear", "relu"] as const)
    for (const bias of [false, true]) {
      out.push({ x: [2, 5, 7, MIN_CI + 9], co: 21, pad: "same", bias, activation });
      out.push({ x: [2, 15, 9, MIN_CI], co: 40, pad: "same", bias, activation });
    }
  // Activations this path leaves to wasm's own kernel still give tfjs' results.
  for (const activation of ["relu6", "elu", "prelu", "leakyrelu"] as const)
    out.push({ x: [1, 4, 5, MIN_CI], co: 7, pad: "same", bias: true, activation });
  // Fewer input channels than MIN_CI: XNNPACK's.
  out.push({ x: [2, 3, 5, 7], co: 13, pad: "same", bias: true, activation: "relu" });
  return out;
}

const forward = (c: Case, x: Float32Array, w: Float32Array, b: Float32Array) => (): tf.Tensor =>
  tf.tidy(() => {
    const xt = tf.tensor4d(x, c.x);
    const wt = tf.tensor4d(w, [1, 1, c.x[3], c.co]);
    if (c.activation === undefined)
      return tf.conv2d(xt, wt, 1, c.pad as "same", "NHWC", c.dilations ?? 1);
    return tf.fused.conv2d({
      x: xt,
      filter: wt,
      strides: 1,
      pad: c.pad as "same",
      dilations: c.dilations ?? 1,
      ...(c.bias ? { bias: tf.tensor1d(b) } : {}),
      activation: c.activation,
      ...(c.activation === "prelu" ? { preluActivationWeights: tf.tensor1d(b) } : {}),
      ...(c.activation === "leakyrelu" ? { leakyreluAlpha: 0.3 } : {}),
    });
  });

beforeAll(async () => {
  await initWasmBackend();
});

describe("the 1x1 convolution GEMM", () => {
  it("is wasm's Conv2D and FusedConv2D, and takes only 1x1 stride-1 NHWC without a border", async () => {
    await tf.setBackend("wasm");
    for (const k of [tf.Conv2D, tf.FusedConv2D])
      expect(tf.getKernel(k, "wasm")).toBe(installedReplacement(k));
    const backend = tf.backend();
    const x = tf.ones([1, 5, 5, MIN_CI]);
    const w = tf.ones([1, 1, MIN_CI, 4]);
    const attrs = (a: object) =>
      ({ strides: 1, pad: "same", dilations: 1, ...a }) as tf.Conv2DAttrs;
    const ours = pointwiseForward(backend, x, w, attrs({}));
    expect(ours).toBeDefined();
    backend.disposeData(ours!.dataId);
    for (const a of [{ strides: 2 }, { pad: 1 }, { dataFormat: "NCHW" }])
      expect(pointwiseForward(backend, x, w, attrs(a)), JSON.stringify(a)).toBeUndefined();
    const w3 = tf.ones([3, 3, MIN_CI, 4]);
    expect(pointwiseForward(backend, x, w3, attrs({}))).toBeUndefined();
    // Weights above the measured bound stay on XNNPACK's.
    const big = tf.zeros([1, 1, MIN_CI, Math.floor(MAX_WEIGHTS / MIN_CI) + 1]);
    expect(pointwiseForward(backend, x, big, attrs({}))).toBeUndefined();
    const narrow = [tf.ones([1, 5, 5, MIN_CI - 1]), tf.ones([1, 1, MIN_CI - 1, 4])] as const;
    expect(pointwiseForward(backend, narrow[0], narrow[1], attrs({}))).toBeUndefined();
    // Those cases still run, on wasm's own kernel: a 3x3 of ones over ones is 8 x taps inside.
    const y = tf.conv2d(x as tf.Tensor4D, w3 as tf.Tensor4D, 1, "same");
    const yv = await y.data();
    expect([yv[0], yv[4]]).toEqual([4 * MIN_CI, 6 * MIN_CI]);
    tf.dispose([x, w, w3, big, y, ...narrow]);
  });
});

describe.each([1, 2])("the 1x1 GEMM matches tfjs-backend-cpu, %i kernel thread(s)", (threads) => {
  beforeAll(() => setKernelThreads(threads));
  afterAll(() => setKernelThreads(undefined));

  it("over channel counts, pixel counts, paddings, bias and activations", async () => {
    const all = cases();
    const pooled = all.filter(
      (c) => size(c.x) * c.co > MIN_POOLED_WORK && size(c.x) / c.x[3] > PIXEL_BLOCK,
    );
    expect(pooled.length).toBeGreaterThanOrEqual(2);
    // All but the last (too few input channels) are ours.
    expect(all.filter((c) => c.x[3] >= MIN_CI).length).toBe(all.length - 1);
    for (const c of all) {
      const [x, w, b] = [values(c.x), values([c.x[3], c.co]), values([c.co])];
      const got = await on("wasm", forward(c, x, w, b));
      const want = await on("cpu", forward(c, x, w, b));
      // float32 sums of up to 293 products of values in [-1, 1) against cpu's.
      expect(maxAbsDiff(got, want), JSON.stringify(c)).toBeLessThan(2e-5 * Math.sqrt(c.x[3]));
    }
  });

  it("keeps the gradients of x, the filter and the bias right", async () => {
    const ci = MIN_CI + 3;
    const xs: Shape4 = [2, 9, 7, ci];
    // co >= MIN_CI too: the input gradient (kernels/conv2dBackpropInput.ts) is a 1x1 conv2d of
    // dy with W transposed, co -> ci, which this kernel then runs.
    const co = MIN_CI + 5;
    const [x, w, b] = [values(xs), values([ci, co]), values([co])];
    const r = values([2, 9, 7, co]);
    for (const which of [0, 1, 2]) {
      const grad = (): tf.Tensor =>
        tf.tidy(() => {
          const f = (a: tf.Tensor, k: tf.Tensor, bias: tf.Tensor) =>
            tf.sum(
              tf.mul(
                tf.tanh(
                  tf.fused.conv2d({
                    x: a as tf.Tensor4D,
                    filter: k as tf.Tensor4D,
                    strides: 1,
                    pad: "same",
                    bias,
                    activation: "relu",
                  }),
                ),
                tf.tensor(r, [2, 9, 7, co]),
              ),
            );
          return tf.grads(f)([tf.tensor4d(x, xs), tf.tensor4d(w, [1, 1, ci, co]), tf.tensor1d(b)])[
            which
          ]!;
        });
      expect(maxAbsDiff(await on("wasm", grad), await on("cpu", grad))).toBeLessThan(1e-4);
    }
  });
});
