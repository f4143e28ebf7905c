import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initWasmBackend } from "../../../compiler/backends/tfjs/kernels/wasmInit.js";
import { setKernelThreads } from "../../../compiler/backends/tfjs/kernels/pool.js";
import {
  coveringPads,
  emptyWindows,
  xnnpackDisagrees,
} from "../../../compiler/backends/tfjs/kernels/explicitPads.js";
import { replacedWasmKernel } from "../../../compiler/backends/tfjs/kernels/register.js";
import { mulberry32 } from "../../../compiler/util/random.js";
import {
  caseData,
  describeCase,
  differentiable,
  FAMILY,
  type FamilyCase,
  randomCase,
  relativeError,
  runCase,
} from "./convFamily.js";

// Differential fuzz of the convolution family on wasm against tfjs-backend-cpu: forward
// passes and gradients over random geometries (convFamily.ts). It found tfjs-backend-wasm's
// kernels writing another output shape than tfjs allocates (explicitPads.ts); those cases are
// routed, so every case here must agree.

beforeAll(async () => {
  await initWasmBackend();
});

async function compare(c: FamilyCase, seed: number): Promise<void> {
  const d = caseData(mulberry32(seed), c);
  await tf.setBackend("cpu");
  const want = await runCase(c, d, true);
  await tf.setBackend("wasm");
  const got = await runCase(c, d, true);
  expect(got.length, describeCase(c)).toBe(want.length);
  // Float32 sums of at most 5 x 5 x 16 terms of [-1, 1) against cpu's float64: ~1e-6 of scale.
  for (let k = 0; k < want.length; k++)
    expect(
      relativeError(got[k]!, want[k]!),
      `${["y", "dx", "dw"][k]} ${describeCase(c)}`,
    ).toBeLessThan(1e-4);
}

const conv = (
  op: FamilyCase["op"],
  x: FamilyCase["x"],
  f: FamilyCase["f"],
  strides: [number, number],
  pad: FamilyCase["pad"],
  more: Partial<FamilyCase> = {},
): FamilyCase => ({ op, x, f, strides, dilations: [1, 1], pad, ...more });

const infoOf = (c: FamilyCase) =>
  tf.backend_util.computeConv2DInfo(
    c.x,
    c.f,
    c.strides,
    c.dilations,
    c.pad,
    c.dimRoundingMode,
    c.op === "depthwise",
  );

describe("DepthwiseConv2dNative with a numeric pad on a 3x2 filter (seen 2026-12-08)", () => {
  it("matches cpu and leaves the heap whole", async () => {
    // wasm's own kernel wrote a 9x9 output into tfjs' 9x8 tensor: wrong values, then "memory
    // access out of bounds" at the next allocation. 6 channels: not archc's SIMD kernel's.
    const c = conv("depthwise", [2, 9, 8, 6], [3, 2, 6, 1], [1, 1], 1);
    await compare(c, 1);
    await compare(conv("conv2d", [2, 9, 8, 6], [3, 2, 6, 5], [1, 1], 1), 2);
    // The next allocations and kernels still work.
    await compare(conv("depthwise", [1, 16, 16, 6], [3, 3, 6, 1], [1, 1], "same"), 3);
  });
});

describe("where XNNPACK's output disagrees with tfjs' shape (explicitPads.ts)", () => {
  it("says so on each side of each condition", () => {
    const d = (c: FamilyCase, sameFlag = true) => xnnpackDisagrees(infoOf(c), sameFlag);
    // Numeric pad: tfjs-core takes the width from the kernel's height and the height's stride.
    expect(d(conv("depthwise", [1, 9, 8, 6], [3, 3, 6, 1], [1, 1], 1))).toBe(false);
    expect(d(conv("depthwise", [1, 9, 8, 6], [3, 2, 6, 1], [1, 1], 1))).toBe(true);
    expect(d(conv("conv2d", [1, 9, 9, 6], [3, 3, 6, 1], [2, 2], 2))).toBe(false);
    expect(d(conv("conv2d", [1, 9, 9, 6], [3, 3, 6, 1], [1, 2], 2))).toBe(true);
    expect(d(conv("conv2d", [1, 9, 9, 6], [3, 3, 6, 1], [1, 1], 1, { dilations: [1, 2] }))).toBe(
      true,
    );
    // dimRoundingMode: 'ceil' differs from XNNPACK's floor only where the division is inexact.
    expect(
      d(conv("conv2d", [1, 7, 7, 4], [5, 5, 4, 1], [2, 2], 1, { dimRoundingMode: "ceil" })),
    ).toBe(false);
    expect(
      d(conv("conv2d", [1, 8, 8, 4], [5, 5, 4, 1], [2, 2], 1, { dimRoundingMode: "ceil" })),
    ).toBe(true);
    // 'same': a stride above the kernel clamps tfjs' pad at 0, which XNNPACK's flag wraps.
    expect(d(conv("conv2d", [1, 11, 11, 4], [3, 3, 4, 1], [3, 3], "same"))).toBe(false);
    expect(d(conv("conv2d", [1, 11, 11, 4], [1, 1, 4, 1], [3, 3], "same"))).toBe(true);
    // The pools take 'same' as pads, not as the flag: there XNNPACK agrees.
    expect(d(conv("maxPool", [1, 11, 11, 4], [1, 1, 4, 4], [3, 3], "same"), false)).toBe(false);
  });

  it("finds pool windows wholly in the padding, and only those", () => {
    const pool = (x: FamilyCase["x"], k: number, s: number, pad: FamilyCase["pad"]) =>
      emptyWindows(tf.backend_util.computePool2DInfo(x, [k, k], [s, s], 1, pad));
    const x: FamilyCase["x"] = [1, 7, 7, 2];
    expect(pool(x, 3, 1, 2)).toBe(false); // every window keeps a pixel of the input
    expect(pool(x, 3, 1, 3)).toBe(true); // the first window is all padding
    expect(pool(x, 2, 3, 2)).toBe(true); // (2 + 7 - 2) / 3 + 1 = 3: the last starts at 7
    expect(pool(x, 3, 3, 2)).toBe(false);
    expect(pool(x, 3, 2, "same")).toBe(false);
  });

  it("covers tfjs' output with explicit pads", () => {
    const rand = mulberry32(7);
    for (let i = 0; i < 300; i++) {
      const c = randomCase(rand, FAMILY[i % FAMILY.length]!);
      if (c.op === "grouped") continue;
      const info = infoOf(c);
      const pads = coveringPads(info);
      const [, [t, b], [l, r]] = pads;
      expect([t, l]).toEqual([info.padInfo.top, info.padInfo.left]);
      const h =
        Math.floor((info.inHeight + t! + b! - info.effectiveFilterHeight) / info.strideHeight) + 1;
      const w =
        Math.floor((info.inWidth + l! + r! - info.effectiveFilterWidth) / info.strideWidth) + 1;
      expect(h, describeCase(c)).toBeGreaterThanOrEqual(info.outHeight);
      expect(w, describeCase(c)).toBeGreaterThanOrEqual(info.outWidth);
    }
  });
});

describe.each([1, 2])(
  "the convolution family on wasm matches cpu, %i kernel thread(s)",
  (threads) => {
    beforeAll(() => setKernelThreads(threads));
    afterAll(() => setKernelThreads(undefined));

    it.each(FAMILY)("%s over random geometries and their gradients", async (op) => {
      const rand = mulberry32(20261208 + FAMILY.indexOf(op) + 100 * threads);
      let differentiated = 0;
      for (let i = 0; i < CASES_PER_OP; i++) {
        const c = randomCase(rand, op);
        if (differentiable(c)) differentiated++;
        await compare(c, i);
      }
      expect(differentiated).toBeGreaterThan(CASES_PER_OP / 3);
    });
  },
);

const CASES_PER_OP = 20;

// Last in the file: wasm's own kernel on the disagreeing side of the predicate, where XNNPACK
// writes less than tfjs allocates (wrong values, no write past the tensor). If a tfjs release
// fixes these, this fails, and explicitPads.ts may go.
describe("tfjs-backend-wasm 4.22's own DepthwiseConv2dNative", () => {
  it("gives wrong values where xnnpackDisagrees says so", async () => {
    const theirs = replacedWasmKernel(tf.DepthwiseConv2dNative)!;
    expect(theirs).toBeDefined();
    const cases = [
      conv("depthwise", [2, 11, 5, 6], [1, 2, 6, 1], [3, 3], "same"), // 'same', stride > kernel
      conv("depthwise", [1, 8, 8, 6], [5, 5, 6, 1], [2, 2], 1, { dimRoundingMode: "ceil" }),
    ];
    for (const c of cases) {
      expect(xnnpackDisagrees(infoOf(c), true)).toBe(true);
      const d = caseData(mulberry32(5), c);
      await tf.setBackend("cpu");
      const [want] = await runCase(c, d, false);
      await tf.setBackend("wasm");
      const got = tf.tidy(() => {
        const x = tf.tensor4d(d.x, c.x);
        const filter = tf.tensor4d(d.f, c.f);
        const attrs = {
          strides: c.strides,
          pad: c.pad,
          dilations: c.dilations,
          dimRoundingMode: c.dimRoundingMode,
        };
        const y = theirs.kernelFunc({
          inputs: { x, filter },
          attrs: attrs as unknown as tf.NamedAttrMap,
          backend: tf.backend(),
        }) as tf.TensorInfo;
        return tf.engine().makeTensorFromTensorInfo(y);
      });
      const values = (await got.data()) as Float32Array;
      got.dispose();
      expect(relativeError(values, want!), describeCase(c)).toBeGreaterThan(0.01);
    }
  });
});
