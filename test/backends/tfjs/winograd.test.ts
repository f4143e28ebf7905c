import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setKernelThreads } from "../../../compiler/backends/tfjs/kernels/pool.js";
import { MIN_POOLED_WORK } from "../../../compiler/backends/tfjs/kernels/pooledRows.js";
import { installedReplacement } from "../../../compiler/backends/tfjs/kernels/register.js";
import { initWasmBackend } from "../../../compiler/backends/tfjs/kernels/wasmInit.js";
import {
  setWinogradMinProduct,
  winogradApplies,
  winogradConv2d,
  winogradWins,
} from "../../../compiler/backends/tfjs/kernels/winograd.js";
import { mulberry32 as prng } from "../../../compiler/util/random.js";
import { maxAbsDiff, on, type Pad, type Shape4, size, uniform } from "./numbers.js";

// Winograd F(2x2, 3x3) (kernels/winograd.ts) against tfjs-backend-cpu: the forward Conv2D and
// FusedConv2D (bias, ReLU) and the input gradient, over paddings ('same', 'valid', numeric,
// explicit), odd and tiny sizes, batch sizes, and channel counts on both sides of where it is
// used; at one and two kernel threads. Winograd's transforms round differently from a direct
// sum, so results are held to 1e-4 of the largest output (float32: ~1e-6 seen at 728 channels).

const rand = prng(20261208);
const values = (shape: readonly number[]): Float32Array => uniform(rand, size(shape));

const relErr = (got: Float32Array, want: Float32Array): number =>
  maxAbsDiff(got, want) / Math.max(1e-30, ...Array.from(want, Math.abs));

interface Case {
  x: Shape4;
  co: number;
  pad: Pad;
}

const explicit: tf.backend_util.ExplicitPadding = [
  [0, 0],
  [2, 0],
  [1, 2],
  [0, 0],
];

function cases(): Case[] {
  const out: Case[] = [];
  for (const pad of ["same", "valid", 1, 2, explicit] as Pad[])
    for (const [n, h, w] of [
      [1, 9, 7],
      [2, 5, 5],
      [3, 4, 6],
      [1, 3, 3],
      [2, 2, 1],
    ])
      out.push({ x: [n!, h!, w!, 32], co: 64, pad });
  out.push({ x: [2, 11, 13, 64], co: 36, pad: "same" });
  out.push({ x: [1, 8, 8, 128], co: 16, pad: "valid" });
  // Kernel-pool sizes, and float32 error growth over a deep sum.
  out.push({ x: [3, 14, 14, 64], co: 64, pad: "same" });
  out.push({ x: [1, 7, 7, 728], co: 128, pad: "same" });
  return out;
}

const conv = (c: Case, x: Float32Array, w: Float32Array) => (): tf.Tensor =>
  tf.tidy(() =>
    tf.conv2d(tf.tensor4d(x, c.x), tf.tensor4d(w, [3, 3, c.x[3], c.co]), 1, c.pad as "same"),
  );

// Above one backend thread Winograd is used only from 64 x 64 or 512 x 512 channels (winogradWins): the
// tests take it from 2048 at any thread count, so every case below runs it.
beforeAll(async () => {
  await initWasmBackend();
  setWinogradMinProduct(2048);
});
afterAll(() => setWinogradMinProduct(undefined));

describe("Winograd F(2x2, 3x3)", () => {
  it("replaces wasm's Conv2D and FusedConv2D, only for 3x3 stride 1 dilation 1 and channels a multiple of 4", () => {
    expect(tf.getKernel(tf.Conv2D, "wasm")).toBe(installedReplacement(tf.Conv2D));
    expect(tf.getKernel(tf.FusedConv2D, "wasm")).toBe(installedReplacement(tf.FusedConv2D));
    expect(winogradApplies([3, 3, 32, 64], 1, 1)).toBe(true);
    expect(winogradApplies([3, 3, 32, 64], [1, 2], 1)).toBe(false);
    expect(winogradApplies([3, 3, 32, 64], 1, [2, 2])).toBe(false);
    expect(winogradApplies([3, 3, 30, 64], 1, 1)).toBe(false);
    expect(winogradApplies([3, 3, 32, 62], 1, 1)).toBe(false);
    expect(winogradApplies([5, 5, 32, 64], 1, 1)).toBe(false);
    expect(winogradWins(32, 32)).toBe(false);
    expect(winogradWins(32, 64)).toBe(true);
    setWinogradMinProduct(undefined);
    expect(winogradWins(32, 64, 1)).toBe(true);
    expect(winogradWins(32, 32, 1)).toBe(false);
    // Two threads: from 64 x 64 where archc's 1x1 GEMM runs the 16 GEMMs (ci >= 64), else from
    // 512 x 512 (XNNPACK's GEMMs; ARCHC_POINTWISE_GEMM=0 keeps them there).
    expect(winogradWins(64, 64, 2)).toBe(true);
    expect(winogradWins(256, 256, 2)).toBe(true);
    expect(winogradWins(32, 256, 2)).toBe(false);
    expect(winogradWins(728, 728, 2)).toBe(true);
    process.env["ARCHC_POINTWISE_GEMM"] = "0";
    try {
      expect(winogradWins(256, 256, 2)).toBe(false);
      expect(winogradWins(728, 728, 2)).toBe(true);
    } finally {
      delete process.env["ARCHC_POINTWISE_GEMM"];
    }
    setWinogradMinProduct(2048);
  });

  it("is the registered conv's result where it applies", async () => {
    await tf.setBackend("wasm");
    const x = tf.tensor4d(values([2, 9, 7, 32]), [2, 9, 7, 32]);
    const w = tf.tensor4d(values([3, 3, 32, 64]), [3, 3, 32, 64]);
    const registered = tf.conv2d(x, w, 1, "same");
    const info = winogradConv2d(tf.backend(), x, w, {
      padTop: 1,
      padLeft: 1,
      outHeight: 9,
      outWidth: 7,
    })!;
    const direct = tf.engine().makeTensorFromTensorInfo(info, tf.backend());
    expect(maxAbsDiff(await registered.data(), await direct.data())).toBe(0);
    tf.dispose([x, w, registered, direct]);
  });
});

describe.each([1, 2])("Winograd matches tfjs-backend-cpu, %i kernel thread(s)", (threads) => {
  beforeAll(() => setKernelThreads(threads));
  afterAll(() => setKernelThreads(undefined));

  it("Conv2D over paddings, sizes, batches and channel counts", async () => {
    const all = cases();
    expect(all.filter((c) => size(c.x) * 9 * c.co > MIN_POOLED_WORK).length).toBeGreaterThan(3);
    for (const c of all) {
      expect(winogradWins(c.x[3], c.co), JSON.stringify(c)).toBe(true);
      const x = values(c.x);
      const w = values([3, 3, c.x[3], c.co]);
      const got = await on("wasm", conv(c, x, w));
      const want = await on("cpu", conv(c, x, w));
      expect(relErr(got, want), JSON.stringify(c)).toBeLessThan(1e-4);
    }
  });

  it("FusedConv2D with a bias and ReLU or none, and other activations on XNNPACK", async () => {
    const c: Case = { x: [2, 10, 9, 32], co: 64, pad: "same" };
    const x = values(c.x);
    const w = values([3, 3, 32, 64]);
    const b = values([64]);
    for (const activation of ["relu", "linear", "elu"] as const)
      for (const withBias of [true, false]) {
        const f = (): tf.Tensor =>
          tf.tidy(() =>
            tf.fused.conv2d({
              x: tf.tensor4d(x, c.x),
              filter: tf.tensor4d(w, [3, 3, 32, 64]),
              strides: 1,
              pad: "same",
              ...(withBias ? { bias: tf.tensor1d(b) } : {}),
              activation,
            }),
          );
        const got = await on("wasm", f);
        const want = await on("cpu", f);
        expect(relErr(got, want), `${activation} ${withBias}`).toBeLessThan(1e-4);
      }
  });

  it("Conv2DBackpropInput at stride 1", async () => {
    for (const pad of ["same", "valid", 2, explicit] as Pad[]) {
      const c: Case = { x: [2, 7, 8, 64], co: 32, pad };
      const x = values(c.x);
      const w = values([3, 3, 64, 32]);
      const info = tf.backend_util.computeConv2DInfo(c.x, [3, 3, 64, 32], 1, 1, pad);
      const r = values(info.outShape);
      for (const which of [0]) {
        const grad = (): tf.Tensor =>
          tf.tidy(() => {
            const xt = tf.tensor4d(x, c.x);
            const wt = tf.tensor4d(w, [3, 3, 64, 32]);
            const rt = tf.tensor(r, info.outShape);
            const f = (a: tf.Tensor, b: tf.Tensor) =>
              tf.sum(
                tf.mul(
                  tf.tanh(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, pad as "same")),
                  rt,
                ),
              );
            return tf.grads(f)([xt, wt])[which]!;
          });
        const got = await on("wasm", grad);
        const want = await on("cpu", grad);
        expect(relErr(got, want), `${JSON.stringify(pad)} ${which}`).toBeLessThan(1e-4);
      }
    }
  });

  it("leaves channel counts it does not take to XNNPACK, still right", async () => {
    for (const [ci, co] of [
      [30, 70],
      [32, 32],
      [3, 64],
    ] as [number, number][]) {
      const c: Case = { x: [2, 7, 6, ci], co, pad: "same" };
      const x = values(c.x);
      const w = values([3, 3, ci, co]);
      expect(relErr(await on("wasm", conv(c, x, w)), await on("cpu", conv(c, x, w)))).toBeLessThan(
        1e-5,
      );
    }
  });
});
