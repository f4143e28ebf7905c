import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initWasmBackend } from "../../../compiler/backends/tfjs/kernels/wasmInit.js";
import { setKernelThreads } from "../../../compiler/backends/tfjs/kernels/pool.js";
import { MIN_POOLED_WORK } from "../../../compiler/backends/tfjs/kernels/pooledRows.js";
import { installedReplacement } from "../../../compiler/backends/tfjs/kernels/register.js";
import {
  depthwiseForward,
  tapsWin,
} from "../../../compiler/backends/tfjs/kernels/depthwiseForward.js";
import { mulberry32 as prng } from "../../../compiler/util/random.js";
import { maxAbsDiff, on, type Pad, type Shape4, size, uniform } from "./numbers.js";

// The depthwise forward convolution (depthwiseForward.ts) against tfjs-backend-cpu: every
// stride, dilation and padding kind, channel counts with and without a scalar tail, and
// problems big enough to be cut across the kernel pool at two threads.

const rand = prng(20261208);
const values = (shape: readonly number[]): Float32Array => uniform(rand, size(shape));

interface Case {
  x: Shape4;
  f: Shape4;
  strides: [number, number];
  dilations: [number, number];
  pad: Pad;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

const explicit: tf.backend_util.ExplicitPadding = [
  [0, 0],
  [2, 0],
  [1, 2],
  [0, 0],
];

function cases(): Case[] {
  const out: Case[] = [];
  const pads: Pad[] = ["same", "valid", explicit, 1];
  for (const strides of [
    [1, 1],
    [2, 2],
    [1, 3],
  ] as [number, number][])
    for (const dilations of [
      [1, 1],
      [2, 1],
    ] as [number, number][])
      for (const pad of pads) {
        // tfjs allows dilation above 1 only at stride 1.
        if (dilations[0] > 1 && (strides[0] > 1 || strides[1] > 1)) continue;
        for (const c of [4, 8, 12])
          out.push({ x: [2, 9, 8, c], f: [3, 2, c, 1], strides, dilations, pad });
      }
  out.push({
    x: [1, 7, 7, 8],
    f: [5, 5, 8, 1],
    strides: [2, 2],
    dilations: [1, 1],
    pad: 1,
    dimRoundingMode: "ceil",
  });
  out.push({ x: [1, 4, 4, 4], f: [5, 5, 4, 1], strides: [1, 1], dilations: [1, 1], pad: "same" });
  // Kernel-pool sizes: Xception-like channel counts, one sample (cut by rows) and several.
  out.push({
    x: [1, 19, 19, 728],
    f: [3, 3, 728, 1],
    strides: [1, 1],
    dilations: [1, 1],
    pad: "same",
  });
  out.push({
    x: [3, 23, 22, 40],
    f: [3, 3, 40, 1],
    strides: [2, 2],
    dilations: [1, 1],
    pad: "valid",
  });
  out.push({
    x: [1, 150, 150, 8],
    f: [3, 3, 8, 1],
    strides: [1, 1],
    dilations: [1, 1],
    pad: "same",
  });
  return out;
}

const forward = (c: Case, x: Float32Array, w: Float32Array) => (): tf.Tensor =>
  tf.tidy(
    () =>
      tf
        .engine()
        .runKernel(
          tf.DepthwiseConv2dNative,
          { x: tf.tensor4d(x, c.x), filter: tf.tensor4d(w, c.f) },
          {
            strides: c.strides,
            dilations: c.dilations,
            pad: c.pad,
            dimRoundingMode: c.dimRoundingMode,
          } as unknown as tf.NamedAttrMap,
        ) as tf.Tensor,
  );

beforeAll(async () => {
  await initWasmBackend();
});

describe("the SIMD depthwise forward kernel", () => {
  it("is wasm's DepthwiseConv2dNative, and takes multiplier 1 only", async () => {
    await tf.setBackend("wasm");
    expect(tf.getKernel(tf.DepthwiseConv2dNative, "wasm")).toBe(
      installedReplacement(tf.DepthwiseConv2dNative),
    );
    const backend = tf.backend();
    const x = tf.ones([1, 5, 5, 4]);
    const attrs = { strides: 1, pad: "same", dilations: 1 } as tf.DepthwiseConv2dNativeAttrs;
    const one = depthwiseForward(backend, x, tf.ones([3, 3, 4, 1]), attrs);
    expect(one).toBeDefined();
    backend.disposeData(one!.dataId);
    expect(depthwiseForward(backend, x, tf.ones([3, 3, 4, 2]), attrs)).toBeUndefined();
    // Channel counts where XNNPACK's kernel is faster (or not a multiple of 4) stay on it.
    for (const c of [6, 128, 1024]) {
      expect(tapsWin(c)).toBe(false);
      const xc = tf.ones([1, 5, 5, c]);
      expect(depthwiseForward(backend, xc, tf.ones([3, 3, c, 1]), attrs)).toBeUndefined();
      xc.dispose();
    }
    for (const c of [8, 64, 728]) expect(tapsWin(c)).toBe(true);
    // A multiplier of 2 still runs, on wasm's own kernel.
    const y = tf.depthwiseConv2d(x as tf.Tensor4D, tf.ones([3, 3, 4, 2]) as tf.Tensor4D, 1, "same");
    expect(Array.from((await y.data()).slice(0, 2))).toEqual([4, 4]);
    tf.disposeVariables();
  });
});

describe.each([1, 2])(
  "depthwise forward matches tfjs-backend-cpu, %i kernel thread(s)",
  (threads) => {
    beforeAll(() => setKernelThreads(threads));
    afterAll(() => setKernelThreads(undefined));

    it("over strides, dilations, paddings and channel counts", async () => {
      const all = cases();
      const pooled = all.filter((c) => size(c.x) * c.f[0] * c.f[1] > MIN_POOLED_WORK);
      expect(pooled.length).toBeGreaterThanOrEqual(3);
      // Every case is ours; wasm's own kernel (with a numeric pad on a 3x2 filter it wrote past
      // its output, now routed by explicitPads.ts) is fuzzed in convFamilyFuzz.test.ts.
      expect(all.filter((c) => tapsWin(c.x[3])).length).toBe(all.length);
      for (const c of all) {
        const x = values(c.x);
        const w = values(c.f);
        const got = await on("wasm", forward(c, x, w));
        const want = await on("cpu", forward(c, x, w));
        // cpu sums in float64 and rounds once; these are float32 sums of at most 25 terms.
        expect(maxAbsDiff(got, want), JSON.stringify(c)).toBeLessThan(1e-5);
      }
    });

    it("keeps the gradients of x and the filter right (the training step runs this forward)", async () => {
      const c: Case = {
        x: [2, 11, 10, 12],
        f: [3, 3, 12, 1],
        strides: [2, 2],
        dilations: [1, 1],
        pad: "same",
      };
      const x = values(c.x);
      const w = values(c.f);
      const info = tf.backend_util.computeConv2DInfo(
        c.x,
        c.f,
        c.strides,
        1,
        "same",
        undefined,
        true,
      );
      const r = values(info.outShape);
      for (const which of [0, 1]) {
        const grad = (): tf.Tensor =>
          tf.tidy(() => {
            const f = (a: tf.Tensor, b: tf.Tensor) =>
              tf.sum(
                tf.mul(
                  tf.tanh(
                    tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, "same"),
                  ),
                  tf.tensor(r, info.outShape),
                ),
              );
            return tf.grads(f)([tf.tensor4d(x, c.x), tf.tensor4d(w, c.f)])[which]!;
          });
        expect(maxAbsDiff(await on("wasm", grad), await on("cpu", grad))).toBeLessThan(1e-4);
      }
    });
  },
);
