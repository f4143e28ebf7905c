import * as tf from "@tensorflow/tfjs";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../../compiler/language/paths.js";
import {
  registerWasmTrainingKernels,
  wasmTrainingKernels,
} from "../../../compiler/backends/tfjs/kernels/register.js";
import { getThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import {
  batchNormGradConfig,
  originalBatchNormGradient,
} from "../../../compiler/backends/tfjs/kernels/batchNormGrad.js";
import {
  installedReplacement,
  replacedWasmKernel,
  wasmKernelReplacements,
} from "../../../compiler/backends/tfjs/kernels/register.js";
import {
  initWasmBackend,
  type WasmStart,
} from "../../../compiler/backends/tfjs/kernels/wasmInit.js";
import { relaxedSimd, rowsFor, rowsModule } from "../../../compiler/backends/tfjs/kernels/simd.js";
import { groupedModule } from "../../../compiler/backends/tfjs/kernels/groupedSimd.js";
import { MIN_POOLED_WORK } from "../../../compiler/backends/tfjs/kernels/pooledRows.js";
import { setKernelThreads } from "../../../compiler/backends/tfjs/kernels/pool.js";
import { bulkModule } from "../../../compiler/backends/tfjs/kernels/bulk.js";
import { flippedSwapped } from "../../../compiler/backends/tfjs/kernels/conv2dBackpropInput.js";
import { maxPoolGradReplacement } from "../../../compiler/backends/tfjs/kernels/maxPoolGrad.js";
import {
  poolGradFor,
  poolGradModule,
} from "../../../compiler/backends/tfjs/kernels/maxPoolSimd.js";
import {
  NATIVE_FILTER_GRAD_PIXELS_MIN,
  patchGradient,
  useNativeTiles,
  usePatches,
  useSimdPointwise,
} from "../../../compiler/backends/tfjs/kernels/conv2dBackpropFilter.js";
import { geometryOf } from "../../../compiler/backends/tfjs/kernels/common.js";
import {
  PIXEL_BLOCK,
  pointwiseFilterGrad,
  pointwiseFor,
  pointwiseModule,
  type PointwiseFns,
} from "../../../compiler/backends/tfjs/kernels/pointwiseSimd.js";
import {
  defaultThreadCount,
  MAX_WASM_THREADS,
  threadSupport,
} from "../../../compiler/backends/tfjs/threads.js";
import { mulberry32 as prng } from "../../../compiler/util/random.js";
import {
  type BackendName,
  maxAbsDiff,
  on,
  type Pad,
  type Shape4,
  size,
  uniform,
} from "./numbers.js";

const TOLERANCE = 1e-4;

const rand = prng(20240607);
const intIn = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
const values = (shape: readonly number[]): Float32Array => uniform(rand, size(shape));

const run = (kernel: string, inputs: Record<string, tf.Tensor>, attrs: object): tf.Tensor =>
  tf.engine().runKernel(kernel, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;

/** Conv2DBackpropFilter on fresh values of these shapes, on wasm and on cpu: the largest gap. */
async function filterGradGap(xShape: Shape4, dyShape: Shape4, attrs: object): Promise<number> {
  const x = values(xShape);
  const dy = values(dyShape);
  const kernel = (): tf.Tensor =>
    tf.tidy(() =>
      run(
        tf.Conv2DBackpropFilter,
        { x: tf.tensor4d(x, xShape), dy: tf.tensor4d(dy, dyShape) },
        attrs,
      ),
    );
  return maxAbsDiff(await on("wasm", kernel), await on("cpu", kernel));
}

/** An explicit padding, or a numeric one, as tfjs ops may pass them down to kernels. */
function randomPad(kind: "same" | "valid" | "explicit" | "number"): Pad {
  if (kind === "explicit") {
    return [
      [0, 0],
      [intIn(0, 2), intIn(0, 2)],
      [intIn(0, 2), intIn(0, 2)],
      [0, 0],
    ];
  }
  return kind === "number" ? intIn(0, 2) : kind;
}

interface DepthwiseCase {
  xShape: Shape4;
  filterShape: Shape4;
  strides: [number, number];
  dilations: [number, number];
  pad: Pad;
  dimRoundingMode?: "floor" | "round" | "ceil";
  dyShape: Shape4;
  label: string;
}

/**
 * One random depthwise problem for every stride/dilation/padding/multiplier
 * combination, with odd and even spatial sizes and non-square filters.
 */
function depthwiseCases(): DepthwiseCase[] {
  const cases: DepthwiseCase[] = [];
  const pads = ["same", "valid", "explicit", "number"] as const;
  for (const stride of [1, 2, 3])
    for (const dilation of [1, 2])
      for (const padKind of pads)
        for (const multiplier of [1, 2]) {
          for (let attempt = 0; attempt < 20; attempt++) {
            const xShape: Shape4 = [intIn(1, 3), intIn(4, 9), intIn(4, 9), intIn(1, 4)];
            const filterShape: Shape4 = [intIn(1, 3), intIn(1, 3), xShape[3], multiplier];
            const pad = randomPad(padKind);
            const info = tf.backend_util.computeConv2DInfo(
              xShape,
              filterShape,
              stride,
              dilation,
              pad,
              undefined,
              true,
            );
            if (info.outHeight <= 0 || info.outWidth <= 0) continue;
            cases.push({
              xShape,
              filterShape,
              strides: [stride, stride],
              dilations: [dilation, dilation],
              pad,
              dyShape: [xShape[0], info.outHeight, info.outWidth, xShape[3] * multiplier],
              label: JSON.stringify({ xShape, filterShape, stride, dilation, pad }),
            });
            break;
          }
        }
  // Numeric pads with each dimRoundingMode ('ceil' can place a window past the input).
  for (const dimRoundingMode of ["floor", "round", "ceil"] as const) {
    const xShape: Shape4 = [2, 7, 8, 3];
    const filterShape: Shape4 = [2, 3, 3, 2];
    const info = tf.backend_util.computeConv2DInfo(
      xShape,
      filterShape,
      2,
      1,
      1,
      dimRoundingMode,
      true,
    );
    cases.push({
      xShape,
      filterShape,
      strides: [2, 2],
      dilations: [1, 1],
      pad: 1,
      dimRoundingMode,
      dyShape: [2, info.outHeight, info.outWidth, 6],
      label: `pad 1, ${dimRoundingMode}`,
    });
  }
  // One larger problem, closer to real layer sizes.
  cases.push({
    xShape: [4, 17, 16, 8],
    filterShape: [3, 3, 8, 1],
    strides: [1, 1],
    dilations: [1, 1],
    pad: "same",
    dyShape: [4, 17, 16, 8],
    label: "large",
  });
  return cases;
}

/**
 * tfjs-backend-cpu's depthwise backprop kernels ignore `dilations` (tfjs's own
 * gradients never pass one), so dilated cases are checked against the cpu kernel
 * on the equivalent undilated problem: the filter with d-1 zeros between taps.
 */
function dilateFilter(w: tf.Tensor4D, d: [number, number]): tf.Tensor4D {
  const [kh, kw, c, m] = w.shape;
  if (d[0] === 1 && d[1] === 1) return w;
  const holes = tf.pad(tf.reshape(w, [kh, 1, kw, 1, c, m]), [
    [0, 0],
    [0, d[0] - 1],
    [0, 0],
    [0, d[1] - 1],
    [0, 0],
    [0, 0],
  ]);
  const full = tf.reshape(holes, [kh * d[0], kw * d[1], c, m]) as tf.Tensor4D;
  return tf.slice(full, [0, 0, 0, 0], [(kh - 1) * d[0] + 1, (kw - 1) * d[1] + 1, c, m]);
}

function effectiveShape(f: Shape4, d: [number, number]): Shape4 {
  return [(f[0] - 1) * d[0] + 1, (f[1] - 1) * d[1] + 1, f[2], f[3]];
}

/**
 * The largest relative difference between d loss / d input and central finite differences,
 * over every element of the input (float32, so eps is large and the bound loose).
 */
async function finiteDifferenceError(
  loss: (t: tf.Tensor) => tf.Scalar,
  shape: readonly number[],
  at: Float32Array,
): Promise<number> {
  const analytic = tf.grad(loss)(tf.tensor(at, [...shape]));
  const g = (await analytic.data()) as Float32Array;
  analytic.dispose();
  const lossAt = async (v: Float32Array): Promise<number> => {
    const l = tf.tidy(() => loss(tf.tensor(v, [...shape])));
    const out = (await l.data())[0]!;
    l.dispose();
    return out;
  };
  const eps = 1e-2;
  let worst = 0;
  for (let i = 0; i < at.length; i++) {
    const plus = Float32Array.from(at);
    const minus = Float32Array.from(at);
    plus[i]! += eps;
    minus[i]! -= eps;
    const numeric = ((await lossAt(plus)) - (await lossAt(minus))) / (2 * eps);
    worst = Math.max(worst, Math.abs(numeric - g[i]!) / Math.max(1, Math.abs(numeric)));
  }
  return worst;
}

let started: WasmStart;

beforeAll(async () => {
  started = await initWasmBackend();
  await tf.setBackend("cpu");
});

describe("threads", () => {
  it("runs on every core by default, through worker_threads, and says so", () => {
    const wanted = Math.min(MAX_WASM_THREADS, defaultThreadCount());
    // Where threads cannot run the start says why; otherwise every core is in use.
    if (started.note?.startsWith("one thread:")) expect(started.threads).toBe(1);
    else expect(started.threads).toBe(wanted);
    expect(getThreadsCount()).toBe(started.threads);
  });

  it("a process that trained on two threads exits by itself", () => {
    // XNNPACK's pool threads and archc's kernel pool (pool.ts) wait for work forever; they
    // must not keep Node alive.
    const dir = mkdtempSync(join(packageRoot, ".archc-threads-test-")); // inside, to resolve tfjs
    const script = join(dir, "exit.mts");
    const runtime = join(packageRoot, "compiler", "backends", "tfjs", "runtime.ts");
    const kernelsDir = join(packageRoot, "compiler", "backends", "tfjs", "kernels");
    writeFileSync(
      script,
      [
        `import * as tf from "@tensorflow/tfjs";`,
        `import { initBackend } from ${JSON.stringify(runtime)};`,
        `const b = await initBackend("wasm", { threads: 2 });`,
        `const x = tf.randomUniform([4, 12, 12, 16]) as tf.Tensor4D;`,
        `const w = tf.randomUniform([3, 3, 16, 8]) as tf.Tensor4D;`,
        `const [g] = tf.grads((v: tf.Tensor) => tf.sum(tf.conv2d(x, v as tf.Tensor4D, 1, "same")))([w]);`,
        `await g!.data();`,
        `import { groupedConv2dNative } from ${JSON.stringify(join(kernelsDir, "groupedConv.ts"))};`,
        `import { kernelPoolStats } from ${JSON.stringify(join(kernelsDir, "pool.ts"))};`,
        `const k = tf.randomUniform([3, 3, 4, 16]) as tf.Tensor4D;`,
        `const grouped = (v: tf.Tensor) => groupedConv2dNative(x, v as tf.Tensor4D, { strides: 1, pad: "same", dilations: 1, groups: 4 });`,
        `const [gk] = tf.grads((v: tf.Tensor) => tf.sum(grouped(v)))([k]);`,
        `await gk!.data();`,
        `console.log(b.threads, kernelPoolStats(tf.backend()).threads);`,
      ].join("\n"),
    );
    try {
      const r = spawnSync(process.execPath, ["--import", "tsx", script], {
        cwd: packageRoot,
        encoding: "utf8",
        timeout: 90_000,
      });
      expect(r.error, r.stderr).toBeUndefined();
      expect(r.status, r.stderr).toBe(0);
      const [threads, poolThreads] = r.stdout.trim().split(" ").map(Number);
      expect(threads).toBeGreaterThanOrEqual(1);
      // With two threads the grouped kernel ran on the pool: a worker thread that had to end.
      expect(poolThreads).toBe(threads === 2 ? 2 : 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names what is missing where threads cannot run", () => {
    const sab = Object.getOwnPropertyDescriptor(globalThis, "SharedArrayBuffer")!;
    delete (globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer;
    try {
      expect(threadSupport()).toBe("SharedArrayBuffer is not available");
    } finally {
      Object.defineProperty(globalThis, "SharedArrayBuffer", sab);
    }
    expect(typeof threadSupport()).toBe("object");
  });
});

describe("registration", () => {
  it("registers the three kernels for wasm, idempotently", () => {
    const names = wasmTrainingKernels.map((k) => k.kernelName).sort();
    expect(names).toEqual([
      "Conv2DBackpropFilter",
      "DepthwiseConv2dNativeBackpropFilter",
      "DepthwiseConv2dNativeBackpropInput",
    ]);
    registerWasmTrainingKernels();
    registerWasmTrainingKernels();
    for (const config of wasmTrainingKernels) {
      expect(tf.getKernel(config.kernelName, "wasm")).toBe(config);
    }
  });

  it("replaces wasm's scalar Conv2DBackpropInput and the batch-norm gradient", () => {
    for (const { kernelName } of wasmKernelReplacements) {
      expect(tf.getKernel(kernelName, "wasm")).toBe(installedReplacement(kernelName));
      expect(replacedWasmKernel(kernelName)).toBeDefined();
    }
    registerWasmTrainingKernels();
    expect(tf.getGradient(tf.FusedBatchNorm)).toBe(batchNormGradConfig);
    expect(originalBatchNormGradient()).toBeDefined();
    expect(originalBatchNormGradient()).not.toBe(batchNormGradConfig);
  });

  it("leaves a kernel that is already registered alone", () => {
    const name = tf.DepthwiseConv2dNativeBackpropInput;
    const ours = tf.getKernel(name, "wasm");
    const theirs: tf.KernelConfig = { ...ours, kernelFunc: ours.kernelFunc };
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel(theirs);
    try {
      registerWasmTrainingKernels();
      expect(tf.getKernel(name, "wasm")).toBe(theirs);
    } finally {
      tf.unregisterKernel(name, "wasm");
      tf.registerKernel(ours);
    }
  });
});

// Node has WebAssembly; this project's TypeScript lib settings do not declare it.
const Wasm = (
  globalThis as unknown as {
    WebAssembly: {
      Memory: new (d: object) => { buffer: ArrayBufferLike };
      Module: new (b: Uint8Array) => object;
      Instance: new (m: object, i: object) => { exports: Record<string, unknown> };
    };
  }
).WebAssembly;

/** A module's exports on a fresh memory of each kind the backend may have: plain, then shared. */
function onBothMemories(
  build: (shared: boolean) => Uint8Array,
): { exports: Record<string, (...args: number[]) => void>; buffer: ArrayBufferLike }[] {
  return [false, true].map((shared) => {
    const memory = new Wasm.Memory(
      shared ? { initial: 1, maximum: 65536, shared: true } : { initial: 1 },
    );
    const instance = new Wasm.Instance(new Wasm.Module(build(shared)), { env: { memory } });
    return {
      exports: instance.exports as Record<string, (...args: number[]) => void>,
      buffer: memory.buffer,
    };
  });
}

describe("the SIMD row routine", () => {
  it("binds to the wasm backend's memory, so multiplier-1 filter gradients take it", async () => {
    await tf.setBackend("wasm");
    expect(rowsFor(tf.backend())).toBeDefined();
  });

  it("accumulates strided rows, vector part and scalar tail, in both memory kinds", () => {
    for (const { exports, buffer } of onBothMemories(rowsModule)) {
      const rows = exports["rows"]!;
      const f = new Float32Array(buffer);
      const a = values([21]);
      const b = values([21]);
      f.set(a, 100);
      f.set(b, 200);
      f.set([1, 2, 3, 4, 5, 6, 7], 0);
      rows(0, 400, 800, 7, 3, 0, 28, 28); // three rows of 7 summed into one
      for (let i = 0; i < 7; i++) {
        const want = i + 1 + [0, 1, 2].reduce((s, j) => s + a[j * 7 + i]! * b[j * 7 + i]!, 0);
        expect(f[i]).toBeCloseTo(want, 5);
      }
    }
  });
});

describe("the SIMD plane routine (rows2)", () => {
  it("runs rows over an outer loop of moved addresses: exactly rows called in a loop, both memories", () => {
    for (const { exports, buffer } of onBothMemories(rowsModule)) {
      const rows = exports["rows"]!;
      const rows2 = exports["rows2"]!;
      const f = new Float32Array(buffer);
      // 3 planes of 4 rows of 9 floats (vector part and tail); a and b strided, acc summing
      // (accS 0) and scattering (accS 2 rows).
      const a = values([200]);
      const b = values([200]);
      for (const [accS, accS2] of [
        [0, 36],
        [72, 8],
      ] as [number, number][]) {
        const run = (call: (base: number) => void): Float32Array => {
          f.fill(0.25, 0, 1000);
          f.set(a, 1000);
          f.set(b, 2000);
          call(0);
          return f.slice(0, 1000);
        };
        const byRows = run(() => {
          for (let o = 0; o < 3; o++)
            rows(o * accS2, 4000 + o * 160, 8000 + o * 144, 9, 4, accS, 40, 36);
        });
        const byRows2 = run(() => rows2(0, 4000, 8000, 9, 4, accS, 40, 36, 3, accS2, 160, 144));
        expect(byRows2).toEqual(byRows);
        expect(byRows2.some((v) => v !== 0.25)).toBe(true);
      }
    }
  });
});

describe("relaxed SIMD's fused multiply-add (grouped and pointwise tiles)", () => {
  const madd = (bytes: Uint8Array) =>
    bytes.some((b, i) => b === 0xfd && bytes[i + 1] === 0x85 && bytes[i + 2] === 0x02);

  it("is used where the engine validates it (Node 20: after the backend's start sets V8's flag)", () => {
    // initWasmBackend ran in beforeAll; Node 20.16+ has process.getBuiltinModule, so the
    // flag was set unless ARCHC_RELAXED_SIMD=0.
    if (process.env["ARCHC_RELAXED_SIMD"] === "0") return expect(relaxedSimd()).toBe(false);
    expect(relaxedSimd()).toBe(true);
    expect(madd(pointwiseModule(false))).toBe(true);
    expect(madd(groupedModule(true))).toBe(true);
    // Without it the modules are plain SIMD, for engines that lack relaxed SIMD.
    expect(madd(pointwiseModule(false, false))).toBe(false);
    expect(madd(groupedModule(true, false))).toBe(false);
  });

  it("fused and plain tiles agree to float32 rounding", () => {
    const [m, ci, co] = [530, 9, 19];
    const x = values([m, ci]);
    const dy = values([m, co]);
    const gradient = (fma: boolean) => {
      const { exports, buffer } = onBothMemories((shared) => pointwiseModule(shared, fma))[0]!;
      const f = new Float32Array(buffer);
      const [xAt, dyAt] = [64, 64 + 4 * x.length];
      const dwAt = dyAt + 4 * dy.length;
      f.set(x, xAt / 4);
      f.set(dy, dyAt / 4);
      pointwiseFilterGrad(exports as unknown as PointwiseFns, dwAt, xAt, dyAt, m, ci, co, 64);
      return f.slice(dwAt / 4, dwAt / 4 + ci * co);
    };
    const [fused, plain] = [gradient(true), gradient(false)];
    for (let i = 0; i < fused.length; i++)
      expect(Math.abs(fused[i]! - plain[i]!)).toBeLessThan(1e-4);
  });

  it("ARCHC_RELAXED_SIMD=0 keeps mul + add, and the grouped kernel still works", () => {
    const dir = mkdtempSync(join(packageRoot, ".archc-relaxed-test-")); // inside, to resolve tfjs
    const script = join(dir, "plain.mts");
    const kernelsDir = join(packageRoot, "compiler", "backends", "tfjs", "kernels");
    writeFileSync(
      script,
      [
        `import * as tf from "@tensorflow/tfjs";`,
        `import { initWasmBackend } from ${JSON.stringify(join(kernelsDir, "wasmInit.ts"))};`,
        `import { relaxedSimd } from ${JSON.stringify(join(kernelsDir, "simd.ts"))};`,
        `import { groupedConv2dNative } from ${JSON.stringify(join(kernelsDir, "groupedConv.ts"))};`,
        `await initWasmBackend({ threads: 1 });`,
        `const x = tf.randomUniform([2, 9, 9, 8], -1, 1, "float32", 1) as tf.Tensor4D;`,
        `const k = tf.randomUniform([3, 3, 8, 8], -1, 1, "float32", 2) as tf.Tensor4D;`,
        `const ours = groupedConv2dNative(x, k, { strides: 1, pad: "same", dilations: 1, groups: 1 });`,
        `const gap = tf.max(tf.abs(tf.sub(ours, tf.conv2d(x, k, 1, "same")))).dataSync()[0];`,
        `console.log(relaxedSimd(), gap);`,
      ].join("\n"),
    );
    try {
      const r = spawnSync(process.execPath, ["--import", "tsx", script], {
        cwd: packageRoot,
        encoding: "utf8",
        timeout: 90_000,
        env: { ...process.env, ARCHC_RELAXED_SIMD: "0" },
      });
      expect(r.error, r.stderr).toBeUndefined();
      expect(r.status, r.stderr).toBe(0);
      const [relaxed, gap] = r.stdout.trim().split(/\s+/).slice(-2);
      expect(relaxed).toBe("false");
      expect(Number(gap)).toBeLessThan(1e-4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe("the SIMD pointwise filter gradient routine", () => {
  it("binds to the wasm backend's memory, so pointwise filter gradients take it", async () => {
    await tf.setBackend("wasm");
    expect(pointwiseFor(tf.backend())).toBeDefined();
  });

  it("computes x^T dy: 4x8 tiles, ci and co edges, a partial last pixel block, both memories", () => {
    for (const { exports, buffer } of onBothMemories(pointwiseModule)) {
      const fns = exports as unknown as PointwiseFns;
      const f = new Float32Array(buffer);
      // (m, ci, co, pixel block): edges in ci (% 4) and co (% 8), co below 8, ci below 4.
      for (const [m, ci, co, block] of [
        [37, 6, 13, 16],
        [40, 8, 16, 16],
        [21, 4, 8, 64],
        [9, 3, 5, 4],
        [530, 9, 19, PIXEL_BLOCK],
      ] as const) {
        const x = values([m, ci]);
        const dy = values([m, co]);
        const [xAt, dyAt] = [64, 64 + 4 * x.length];
        const dwAt = dyAt + 4 * dy.length;
        f.set(x, xAt / 4);
        f.set(dy, dyAt / 4);
        f.fill(0.5, dwAt / 4, dwAt / 4 + ci * co); // it accumulates onto what is there
        f.fill(7, dwAt / 4 + ci * co, dwAt / 4 + ci * co + 8); // and writes nothing beyond
        pointwiseFilterGrad(fns, dwAt, xAt, dyAt, m, ci, co, block);
        for (let i = 0; i < ci; i++)
          for (let j = 0; j < co; j++) {
            let want = 0.5;
            for (let p = 0; p < m; p++) want += x[p * ci + i]! * dy[p * co + j]!;
            expect(f[dwAt / 4 + i * co + j], JSON.stringify({ m, ci, co, i, j })).toBeCloseTo(
              want,
              4,
            );
          }
        expect(Array.from(f.slice(dwAt / 4 + ci * co, dwAt / 4 + ci * co + 8))).toEqual(
          Array<number>(8).fill(7),
        );
      }
    }
  });
});

describe("the SIMD max-pool gradient routine", () => {
  it("binds to the wasm backend's memory, so MaxPoolGrad takes it", async () => {
    await tf.setBackend("wasm");
    expect(poolGradFor(tf.backend())).toBeDefined();
  });

  it("scatters dy to each window's first maximum, lanes and tail, in both memory kinds", () => {
    // Two windows of 2 rows x 3 taps over 7 channels (one f32x4 group and 3 scalar
    // channels), the second window 2 taps to the right; x is [3 rows, 8 pixels, 7].
    const n = 7;
    const rowFloats = 8 * n;
    const x = Float32Array.from(values([3 * rowFloats]), (v) => Math.round(v * 2) / 2 - 0.5);
    x[2 * n + 1] = NaN; // inside both windows: never the maximum
    for (let r = 0; r < 2; r++)
      for (let t = 0; t < 3; t++) x[r * rowFloats + t * n + 2] = -Infinity;
    const dy = values([2 * n]);
    const want = new Float32Array(x.length);
    for (let w = 0; w < 2; w++)
      for (let ch = 0; ch < n; ch++) {
        let best = -Infinity;
        let at = -1;
        for (let r = 0; r < 2; r++)
          for (let t = 0; t < 3; t++) {
            const i = r * rowFloats + (2 * w + t) * n + ch;
            if (x[i]! > best) [best, at] = [x[i]!, i];
          }
        if (at >= 0) want[at]! += dy[w * n + ch]!;
      }
    // Channel 2 of window 0 is -Infinity throughout: it gets nothing.
    expect(
      want
        .slice(0, 3 * n)
        .filter((_, i) => i % n === 2)
        .every((v) => v === 0),
    ).toBe(true);
    for (const { exports, buffer } of onBothMemories(poolGradModule)) {
      const pool = exports["pool"]!;
      const f = new Float32Array(buffer);
      const [xAt, dyAt, dxAt] = [64, 4096, 8192]; // byte addresses
      f.set(x, xAt / 4);
      f.set(dy, dyAt / 4);
      f.fill(0, dxAt / 4, dxAt / 4 + x.length);
      pool(xAt, dyAt, dxAt - xAt, n, 2, 2 * n * 4, 2, 3, rowFloats * 4, n * 4);
      expect(Array.from(f.slice(dxAt / 4, dxAt / 4 + x.length))).toEqual(Array.from(want));
    }
  });
});

describe("without these kernels", () => {
  it("wasm cannot differentiate a depthwise conv (so the tests below exercise them)", async () => {
    await tf.setBackend("wasm");
    const saved = wasmTrainingKernels.map((k) => tf.getKernel(k.kernelName, "wasm"));
    for (const k of wasmTrainingKernels) tf.unregisterKernel(k.kernelName, "wasm");
    try {
      const x = tf.ones([1, 4, 4, 2]) as tf.Tensor4D;
      const f = (w: tf.Tensor): tf.Scalar =>
        tf.sum(tf.depthwiseConv2d(x, w as tf.Tensor4D, 1, "same"));
      expect(() => tf.grads(f)([tf.ones([3, 3, 2, 1])])).toThrow(/not registered/);
      x.dispose();
    } finally {
      for (const k of saved) tf.registerKernel(k);
    }
  });
});

// On one thread and on two of the kernel pool (pool.ts): pooled kernels cut their work by
// output, so both must match cpu.
describe.each([1, 2])("kernels match tfjs-backend-cpu, %i kernel thread(s)", (threads) => {
  beforeAll(() => setKernelThreads(threads));
  afterAll(() => setKernelThreads(undefined));
  const cases = depthwiseCases();

  it("covers every stride, dilation, padding and multiplier combination", () => {
    expect(cases.length).toBe(3 * 2 * 4 * 2 + 3 + 1);
  });

  it("DepthwiseConv2dNativeBackpropInput", async () => {
    for (const c of cases) {
      const dy = values(c.dyShape);
      const w = values(c.filterShape);
      const attrs = {
        strides: c.strides,
        dilations: c.dilations,
        pad: c.pad,
        dimRoundingMode: c.dimRoundingMode,
        inputShape: c.xShape,
      };
      const got = await on("wasm", () =>
        run(
          tf.DepthwiseConv2dNativeBackpropInput,
          {
            dy: tf.tensor4d(dy, c.dyShape),
            filter: tf.tensor4d(w, c.filterShape),
          },
          attrs,
        ),
      );
      const want = await on("cpu", () =>
        tf.tidy(() =>
          run(
            tf.DepthwiseConv2dNativeBackpropInput,
            {
              dy: tf.tensor4d(dy, c.dyShape),
              filter: dilateFilter(tf.tensor4d(w, c.filterShape), c.dilations),
            },
            { ...attrs, dilations: 1 },
          ),
        ),
      );
      const diff = maxAbsDiff(got, want);
      expect(diff, c.label).toBeLessThan(TOLERANCE);
    }
  });

  it("DepthwiseConv2dNativeBackpropFilter", async () => {
    for (const c of cases) {
      const x = values(c.xShape);
      const dy = values(c.dyShape);
      const attrs = {
        strides: c.strides,
        dilations: c.dilations,
        pad: c.pad,
        dimRoundingMode: c.dimRoundingMode,
        filterShape: c.filterShape,
      };
      const got = await on("wasm", () =>
        run(
          tf.DepthwiseConv2dNativeBackpropFilter,
          {
            x: tf.tensor4d(x, c.xShape),
            dy: tf.tensor4d(dy, c.dyShape),
          },
          attrs,
        ),
      );
      const want = await on("cpu", () =>
        tf.tidy(() => {
          const full = run(
            tf.DepthwiseConv2dNativeBackpropFilter,
            { x: tf.tensor4d(x, c.xShape), dy: tf.tensor4d(dy, c.dyShape) },
            { ...attrs, dilations: 1, filterShape: effectiveShape(c.filterShape, c.dilations) },
          );
          // Only every d-th tap of the zero-stuffed filter is a real one.
          return tf.stridedSlice(full, [0, 0, 0, 0], full.shape, [...c.dilations, 1, 1]);
        }),
      );
      const diff = maxAbsDiff(got, want);
      expect(diff, c.label).toBeLessThan(TOLERANCE);
    }
  });

  it("depthwise gradients and MaxPoolGrad big enough for the kernel pool (cut into tasks at 2)", async () => {
    // Above MIN_POOLED_WORK multiply-adds, so at two threads these run as pool jobs: the
    // filter gradient by runs of samples into copies, the input gradient and MaxPoolGrad by
    // runs of samples (and channels).
    for (const [shape, stride, pad] of [
      [[5, 12, 11, 24], 1, "same"],
      [[3, 23, 22, 40], 2, "valid"],
      [[1, 16, 16, 64], 1, "same"],
    ] as [Shape4, number, Pad][]) {
      const filterShape: Shape4 = [3, 3, shape[3], 1];
      const info = tf.backend_util.computeConv2DInfo(shape, filterShape, stride, 1, pad as "same");
      const dyShape: Shape4 = [shape[0], info.outHeight, info.outWidth, shape[3]];
      expect(dyShape.reduce((a, b) => a * b, 9)).toBeGreaterThan(MIN_POOLED_WORK);
      const [x, dy, w] = [values(shape), values(dyShape), values(filterShape)];
      const attrs = { strides: stride, pad, dilations: 1 };
      const label = JSON.stringify({ shape, stride, pad });
      const filterGrad = (): tf.Tensor =>
        tf.tidy(() =>
          run(
            tf.DepthwiseConv2dNativeBackpropFilter,
            { x: tf.tensor4d(x, shape), dy: tf.tensor4d(dy, dyShape) },
            { ...attrs, filterShape },
          ),
        );
      const inputGrad = (): tf.Tensor =>
        tf.tidy(() =>
          run(
            tf.DepthwiseConv2dNativeBackpropInput,
            { dy: tf.tensor4d(dy, dyShape), filter: tf.tensor4d(w, filterShape) },
            { ...attrs, inputShape: shape },
          ),
        );
      const pool = tf.backend_util.computePool2DInfo(shape, 3, stride, 1, pad as "same");
      const gShape: Shape4 = [shape[0], pool.outHeight, pool.outWidth, shape[3]];
      const g = values(gShape);
      const poolGrad = (): tf.Tensor =>
        tf.tidy(() => {
          const input = tf.tensor4d(x, shape);
          const output = tf.maxPool(input, 3, stride, pad as "same");
          return run(
            tf.MaxPoolGrad,
            { dy: tf.tensor4d(g, gShape), input, output },
            { filterSize: 3, strides: stride, pad },
          );
        });
      for (const f of [filterGrad, inputGrad, poolGrad]) {
        const got = await on("wasm", f);
        expect(maxAbsDiff(got, await on("cpu", f)), label).toBeLessThan(TOLERANCE);
      }
    }
  });

  it("Conv2DBackpropFilter (NHWC and NCHW)", async () => {
    const pads = ["same", "valid", "explicit", "number"] as const;
    let checked = 0;
    for (const stride of [1, 2, 3])
      for (const padKind of pads)
        for (const dataFormat of ["NHWC", "NCHW"] as const) {
          const nhwc: Shape4 = [intIn(1, 3), intIn(4, 9), intIn(4, 9), intIn(1, 4)];
          const filterShape: Shape4 = [intIn(1, 3), intIn(1, 3), nhwc[3], intIn(1, 5)];
          const pad = randomPad(padKind);
          const info = tf.backend_util.computeConv2DInfo(nhwc, filterShape, stride, 1, pad);
          if (info.outHeight <= 0 || info.outWidth <= 0) continue;
          const dyNhwc: Shape4 = [nhwc[0], info.outHeight, info.outWidth, filterShape[3]];
          const toFormat = (s: Shape4): Shape4 =>
            dataFormat === "NHWC" ? s : [s[0], s[3], s[1], s[2]];
          const xShape = toFormat(nhwc);
          const dyShape = toFormat(dyNhwc);
          // Explicit pads are given in the layout of the data.
          const formatPad =
            dataFormat === "NCHW" && Array.isArray(pad) ? [pad[0], pad[3], pad[1], pad[2]] : pad;
          const diff = await filterGradGap(xShape, dyShape, {
            strides: stride,
            pad: formatPad,
            dataFormat,
            filterShape,
          });
          expect(
            diff,
            JSON.stringify({ xShape, filterShape, stride, pad, dataFormat }),
          ).toBeLessThan(TOLERANCE);
          checked++;
        }
    expect(checked).toBeGreaterThan(20);

    // Pointwise (1x1, stride 1) shapes the SIMD routine leaves (no 4 x 8 tile, or more than
    // SIMD_POINTWISE_WEIGHTS_MAX weights) take a matMul path; 'valid' and 'same' pad nothing
    // there. It packs x (3 -> 24 over 126 pixels) or dy (16 -> 5; 3 -> 40: too few pixels).
    for (const [pad, ci, co] of [
      ["same", 3, 24],
      ["valid", 3, 24],
      ["same", 16, 5],
      ["valid", 3, 40],
      ["same", 740, 720],
    ] as const) {
      const xShape: Shape4 = ci > 100 ? [1, 2, 3, ci] : [3, 7, 6, ci];
      expect(useSimdPointwise({ shape: xShape } as unknown as tf.TensorInfo, [1, 1, ci, co])).toBe(
        false,
      );
      const dyShape: Shape4 = [xShape[0], xShape[1], xShape[2], co];
      const attrs = { strides: 1, pad, dataFormat: "NHWC", filterShape: [1, 1, ci, co] };
      expect(await filterGradGap(xShape, dyShape, attrs), pad).toBeLessThan(TOLERANCE);
    }

    // Pointwise shapes the SIMD routine takes (pointwiseSimd.ts): 4x8 tiles only, edges in
    // ci and co, more pixels than two blocks (3 x 19 x 11 = 627 > 512), 'same' and 'valid'.
    await tf.setBackend("wasm");
    expect(pointwiseFor(tf.backend())).toBeDefined();
    for (const [pad, xShape, co] of [
      ["same", [2, 4, 4, 8], 16],
      ["valid", [3, 19, 11, 12], 24],
      ["same", [3, 19, 11, 13], 21],
      ["valid", [1, 5, 7, 6], 10],
    ] as const) {
      const ci = xShape[3];
      const dyShape: Shape4 = [xShape[0], xShape[1], xShape[2], co];
      const info = { shape: [...xShape] } as unknown as tf.TensorInfo;
      expect(useSimdPointwise(info, [1, 1, ci, co]), JSON.stringify({ xShape, co })).toBe(true);
      const attrs = { strides: 1, pad, dataFormat: "NHWC", filterShape: [1, 1, ci, co] };
      const diff = await filterGradGap([...xShape], dyShape, attrs);
      expect(diff, JSON.stringify({ pad, xShape, co })).toBeLessThan(TOLERANCE);
    }

    for (const dimRoundingMode of ["floor", "round", "ceil", undefined] as const) {
      const large = dimRoundingMode === undefined;
      const xShape: Shape4 = large ? [4, 16, 15, 8] : [2, 7, 8, 3];
      const filterShape: Shape4 = large ? [3, 3, 8, 8] : [2, 3, 3, 4];
      const stride = large ? 1 : 2;
      const pad = large ? "same" : 1;
      const info = tf.backend_util.computeConv2DInfo(
        xShape,
        filterShape,
        stride,
        1,
        pad,
        dimRoundingMode,
      );
      const dyShape: Shape4 = [xShape[0], info.outHeight, info.outWidth, filterShape[3]];
      const attrs = { strides: stride, pad, dataFormat: "NHWC", dimRoundingMode, filterShape };
      const diff = await filterGradGap(xShape, dyShape, attrs);
      expect(diff, String(dimRoundingMode)).toBeLessThan(TOLERANCE);
    }
  });

  it("Conv2DBackpropFilter's patch path (few input taps): pads, strides, rounding, threshold", async () => {
    interface Problem {
      xShape: Shape4;
      filterShape: Shape4;
      stride: number;
      pad: Pad;
      dimRoundingMode?: "floor" | "round" | "ceil";
      patches: boolean;
    }
    const problems: Problem[] = [];
    for (const ci of [1, 3])
      for (const stride of [1, 2])
        for (const padKind of ["same", "valid", "explicit", "number"] as const) {
          const xShape: Shape4 = [intIn(1, 3), intIn(5, 11), intIn(5, 11), ci];
          const filterShape: Shape4 = [intIn(2, 3), intIn(1, 3), ci, intIn(1, 5)];
          problems.push({ xShape, filterShape, stride, pad: randomPad(padKind), patches: true });
        }
    problems.push(
      // 'ceil' rounding places a window past the input.
      ...(["floor", "round", "ceil"] as const).map((dimRoundingMode) => ({
        xShape: [2, 9, 8, 3] as Shape4,
        filterShape: [3, 3, 3, 4] as Shape4,
        stride: 2,
        pad: 1,
        dimRoundingMode,
        patches: true,
      })),
      { xShape: [2, 8, 7, 1], filterShape: [5, 5, 1, 3], stride: 1, pad: "same", patches: true },
      // tfjs sizes a numeric pad's output width from the filter height: fewer columns than the pads reach.
      { xShape: [2, 9, 8, 2], filterShape: [3, 1, 2, 3], stride: 1, pad: 1, patches: true },
      // The threshold: 3x3x3 = 27 and 3x3x4 = 36 taps take the patches, 2x2x10 = 40 and 3x3x5 = 45 do not.
      { xShape: [2, 9, 9, 3], filterShape: [3, 3, 3, 5], stride: 1, pad: "same", patches: true },
      { xShape: [2, 9, 9, 4], filterShape: [3, 3, 4, 5], stride: 2, pad: "valid", patches: true },
      { xShape: [2, 9, 9, 10], filterShape: [2, 2, 10, 5], stride: 1, pad: "same", patches: false },
      { xShape: [2, 9, 9, 5], filterShape: [3, 3, 5, 5], stride: 2, pad: "valid", patches: false },
      // A 1x1 filter with a stride or a pad takes them at any channel count.
      { xShape: [2, 9, 8, 40], filterShape: [1, 1, 40, 6], stride: 2, pad: "same", patches: true },
      {
        xShape: [2, 5, 6, 9],
        filterShape: [1, 1, 9, 4],
        stride: 1,
        pad: [
          [0, 0],
          [1, 0],
          [0, 2],
          [0, 0],
        ],
        patches: true,
      },
    );
    for (const { xShape, filterShape, stride, pad, dimRoundingMode, patches } of problems) {
      const info = tf.backend_util.computeConv2DInfo(
        xShape,
        filterShape,
        stride,
        1,
        pad,
        dimRoundingMode,
      );
      const label = JSON.stringify({ xShape, filterShape, stride, pad, dimRoundingMode });
      expect(info.outHeight * info.outWidth, label).toBeGreaterThan(0);
      expect(usePatches(geometryOf(info)), label).toBe(patches);
      const dyShape: Shape4 = [xShape[0], info.outHeight, info.outWidth, filterShape[3]];
      const attrs = { strides: stride, pad, dataFormat: "NHWC", dimRoundingMode, filterShape };
      expect(await filterGradGap(xShape, dyShape, attrs), label).toBeLessThan(TOLERANCE);
    }
  });

  it("Conv2DBackpropFilter's native tiles (>= 100 output pixels): strides, pads, rounding, edges", async () => {
    const explicit: Pad = [
      [0, 0],
      [2, 0],
      [0, 1],
      [0, 0],
    ];
    const problems: {
      xShape: Shape4;
      filterShape: Shape4;
      stride: number;
      pad: Pad;
      dimRoundingMode?: "floor" | "round" | "ceil";
    }[] = [
      // 5 -> 11 channels: neither a multiple of 4 nor of 8 (the tiles' edges).
      { xShape: [2, 10, 11, 5], filterShape: [3, 3, 5, 11], stride: 1, pad: "same" },
      // TensorFlow's 'same' at stride 2 on an even input pads one row and column, bottom/right.
      { xShape: [2, 22, 20, 6], filterShape: [3, 3, 6, 8], stride: 2, pad: "same" },
      { xShape: [1, 25, 25, 3], filterShape: [5, 3, 3, 7], stride: 2, pad: "valid" },
      { xShape: [2, 10, 10, 4], filterShape: [3, 3, 4, 9], stride: 1, pad: 1 },
      { xShape: [1, 12, 12, 9], filterShape: [3, 2, 9, 17], stride: 1, pad: explicit },
      // 11.5 x 12.5 windows: the rounding mode decides the output size.
      {
        xShape: [1, 22, 24, 4],
        filterShape: [3, 3, 4, 8],
        stride: 2,
        pad: 1,
        dimRoundingMode: "ceil",
      },
      {
        xShape: [1, 22, 24, 4],
        filterShape: [3, 3, 4, 8],
        stride: 2,
        pad: 1,
        dimRoundingMode: "floor",
      },
      { xShape: [2, 30, 31, 2], filterShape: [3, 3, 2, 5], stride: 3, pad: "same" },
      // One input channel (a stem), which the patch path took before.
      { xShape: [2, 10, 10, 1], filterShape: [3, 3, 1, 8], stride: 1, pad: "same" },
      { xShape: [1, 12, 12, 16], filterShape: [5, 5, 16, 8], stride: 1, pad: "same" },
    ];
    for (const { xShape, filterShape, stride, pad, dimRoundingMode } of problems) {
      const info = tf.backend_util.computeConv2DInfo(
        xShape,
        filterShape,
        stride,
        1,
        pad,
        dimRoundingMode,
      );
      const label = JSON.stringify({ xShape, filterShape, stride, pad, dimRoundingMode });
      expect(info.outHeight * info.outWidth, label).toBeGreaterThanOrEqual(
        NATIVE_FILTER_GRAD_PIXELS_MIN,
      );
      expect(useNativeTiles(info), label).toBe(true);
      const dyShape: Shape4 = [xShape[0], info.outHeight, info.outWidth, filterShape[3]];
      const attrs = { strides: stride, pad, dataFormat: "NHWC", dimRoundingMode, filterShape };
      expect(await filterGradGap(xShape, dyShape, attrs), label).toBeLessThan(TOLERANCE);
    }
    // Fewer pixels (a 7x7 map) and 1x1 filters stay with XNNPACK's compositions.
    const small = tf.backend_util.computeConv2DInfo([2, 7, 7, 8], [3, 3, 8, 8], 1, 1, "same");
    expect(useNativeTiles(small)).toBe(false);
    const pointwise = tf.backend_util.computeConv2DInfo([2, 20, 20, 8], [1, 1, 8, 8], 2, 1, 0);
    expect(useNativeTiles(pointwise)).toBe(false);
  });

  it("the patch path with dilation 2 (tfjs' kernels take none; cpu on the zero-stuffed filter)", async () => {
    let checked = 0;
    for (const ci of [1, 3])
      for (const stride of [1, 2])
        for (const pad of ["same", "valid", 1] as const) {
          const xShape: Shape4 = [2, 11, 10, ci];
          const filterShape: Shape4 = [3, 2, ci, 4];
          const d: [number, number] = [2, 2];
          const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, stride, d, pad);
          const dyShape: Shape4 = [2, info.outHeight, info.outWidth, 4];
          const x = values(xShape);
          const dy = values(dyShape);
          const got = await on("wasm", () =>
            tf.tidy(() =>
              patchGradient(
                tf.tensor4d(x, xShape),
                tf.tensor4d(dy, dyShape),
                geometryOf(info),
                filterShape[3],
              ),
            ),
          );
          const want = await on("cpu", () =>
            tf.tidy(() => {
              const full = run(
                tf.Conv2DBackpropFilter,
                { x: tf.tensor4d(x, xShape), dy: tf.tensor4d(dy, dyShape) },
                {
                  strides: stride,
                  pad,
                  dataFormat: "NHWC",
                  filterShape: effectiveShape(filterShape, d),
                },
              );
              return tf.stridedSlice(full, [0, 0, 0, 0], full.shape, [...d, 1, 1]);
            }),
          );
          const label = JSON.stringify({ xShape, stride, pad });
          expect(maxAbsDiff(got, want), label).toBeLessThan(TOLERANCE);
          checked++;
        }
    expect(checked).toBe(12);
  });

  it("Conv2DBackpropInput (NHWC and NCHW): ours on wasm, cpu's and wasm's own agree", async () => {
    const pads = ["same", "valid", "explicit", "number"] as const;
    const theirs = replacedWasmKernel(tf.Conv2DBackpropInput)!;
    let checked = 0;
    const problems: { nhwc: Shape4; filterShape: Shape4; stride: number; pad: Pad }[] = [];
    for (const stride of [1, 2, 3])
      for (const padKind of pads) {
        const nhwc: Shape4 = [intIn(1, 3), intIn(4, 9), intIn(4, 9), intIn(1, 4)];
        const filterShape: Shape4 = [intIn(1, 3), intIn(1, 3), nhwc[3], intIn(1, 5)];
        problems.push({ nhwc, filterShape, stride, pad: randomPad(padKind) });
      }
    problems.push({ nhwc: [3, 10, 9, 16], filterShape: [1, 1, 16, 24], stride: 1, pad: "same" });
    problems.push({ nhwc: [2, 9, 9, 8], filterShape: [1, 1, 8, 12], stride: 2, pad: "same" });
    for (const { nhwc, filterShape, stride, pad } of problems)
      for (const dataFormat of ["NHWC", "NCHW"] as const) {
        const info = tf.backend_util.computeConv2DInfo(nhwc, filterShape, stride, 1, pad);
        if (info.outHeight <= 0 || info.outWidth <= 0) continue;
        const dyNhwc: Shape4 = [nhwc[0], info.outHeight, info.outWidth, filterShape[3]];
        const toFormat = (s: Shape4): Shape4 =>
          dataFormat === "NHWC" ? s : [s[0], s[3], s[1], s[2]];
        const formatPad =
          dataFormat === "NCHW" && Array.isArray(pad) ? [pad[0], pad[3], pad[1], pad[2]] : pad;
        const dyShape = toFormat(dyNhwc);
        const dy = values(dyShape);
        const w = values(filterShape);
        const attrs = { strides: stride, pad: formatPad, dataFormat, inputShape: toFormat(nhwc) };
        const kernel = (): tf.Tensor =>
          tf.tidy(() =>
            run(
              tf.Conv2DBackpropInput,
              { dy: tf.tensor4d(dy, dyShape), filter: tf.tensor4d(w, filterShape) },
              attrs,
            ),
          );
        const label = JSON.stringify({ nhwc, filterShape, stride, pad, dataFormat });
        const ours = await on("wasm", kernel);
        expect(maxAbsDiff(ours, await on("cpu", kernel)), label).toBeLessThan(TOLERANCE);
        if (dataFormat === "NHWC") {
          // wasm's own kernel, called directly, as a third opinion.
          const wasmOwn = await on("wasm", () =>
            tf.tidy(() => {
              const b = tf.backend();
              theirs.setupFunc?.(b); // it was unregistered before the backend started
              const out = theirs.kernelFunc({
                inputs: { dy: tf.tensor4d(dy, dyShape), filter: tf.tensor4d(w, filterShape) },
                backend: b,
                attrs: attrs as unknown as tf.NamedAttrMap,
              }) as tf.TensorInfo;
              return tf.engine().makeTensorFromTensorInfo(out, b);
            }),
          );
          expect(maxAbsDiff(ours, wasmOwn), label).toBeLessThan(TOLERANCE);
        }
        checked++;
      }
    expect(checked).toBeGreaterThan(20);
  });

  it("flippedSwapped equals reverse then transpose, 1x1 and wider filters", async () => {
    for (const shape of [
      [1, 1, 3, 4],
      [2, 3, 3, 2],
      [3, 3, 1, 5],
    ] as Shape4[]) {
      const w = tf.tensor4d(values(shape), shape);
      const ours = flippedSwapped(w);
      const want = tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]);
      expect(ours.shape).toEqual(want.shape);
      expect(Array.from(await ours.data())).toEqual(Array.from(await want.data()));
      tf.dispose([w, ours, want]);
    }
  });

  it("MaxPoolGrad matches cpu (strides, pads, ties)", async () => {
    let checked = 0;
    for (const [shape, filterSize, strides, pad] of [
      [[2, 9, 8, 5], 3, 2, "same"],
      [[2, 9, 8, 5], 3, 2, "valid"],
      [[1, 7, 7, 3], 2, 1, "same"],
      [[3, 6, 5, 4], [3, 2], [1, 2], 1],
    ] as [Shape4, number | [number, number], number | [number, number], Pad][]) {
      const info = tf.backend_util.computePool2DInfo(shape, filterSize, strides, 1, pad as "same");
      const outShape: Shape4 = [shape[0], info.outHeight, info.outWidth, shape[3]];
      for (const ties of [false, true]) {
        // Rounded inputs make equal maxima in one window; both backends keep the first.
        const v = ties ? values(shape).map((e) => Math.round(e * 2) / 2) : values(shape);
        const g = values(outShape);
        const f = (): tf.Tensor =>
          tf.tidy(() => {
            const x = tf.tensor4d(v, shape);
            const y = tf.maxPool(x, filterSize, strides, pad as "same");
            return run(
              tf.MaxPoolGrad,
              { dy: tf.tensor4d(g, outShape), input: x, output: y },
              { filterSize, strides, pad },
            );
          });
        const label = JSON.stringify({ shape, filterSize, strides, pad, ties });
        expect(maxAbsDiff(await on("wasm", f), await on("cpu", f)), label).toBeLessThan(TOLERANCE);
        checked++;
      }
    }
    expect(checked).toBe(8);
  });

  it("MaxPoolGrad on ties, all-negative, -Infinity and NaN inputs: SIMD and JS loop match cpu", async () => {
    await tf.setBackend("wasm");
    const jsLoop = maxPoolGradReplacement(replacedWasmKernel(tf.MaxPoolGrad)!, () => undefined);
    const kinds: Record<string, (v: number, i: number) => number> = {
      ties: (v) => Math.round(v), // -1, 0, 1: many equal maxima per window
      negative: (v) => v - 3,
      minusInfinity: (v, i) => (i % 64 < 24 || v < 0 ? -Infinity : v), // whole windows too
      nan: (v) => (v < -0.4 ? NaN : v),
    };
    let checked = 0;
    for (const [shape, pad] of [
      [[2, 9, 8, 9], "same"],
      [[1, 7, 6, 4], "valid"],
      [
        [2, 5, 7, 6],
        [
          [0, 0],
          [1, 2],
          [2, 0],
          [0, 0],
        ],
      ],
    ] as [Shape4, Pad][]) {
      const info = tf.backend_util.computePool2DInfo(shape, 3, 2, 1, pad as "same");
      const outShape: Shape4 = [shape[0], info.outHeight, info.outWidth, shape[3]];
      for (const [kind, map] of Object.entries(kinds)) {
        const v = values(shape).map(map);
        const g = values(outShape);
        const inputs = () => {
          const x = tf.tensor4d(v, shape);
          return {
            dy: tf.tensor4d(g, outShape),
            input: x,
            output: tf.maxPool(x, 3, 2, pad as "same"),
          };
        };
        const attrs = { filterSize: 3, strides: 2, pad };
        const f = (): tf.Tensor => tf.tidy(() => run(tf.MaxPoolGrad, inputs(), attrs));
        const byJs = (): tf.Tensor =>
          tf.tidy(() => {
            const out = jsLoop.kernelFunc({
              inputs: inputs() as unknown as tf.NamedTensorInfoMap,
              backend: tf.backend(),
              attrs: attrs as unknown as tf.NamedAttrMap,
            }) as tf.TensorInfo;
            return tf.engine().makeTensorFromTensorInfo(out, tf.backend());
          });
        const want = await on("cpu", f);
        const label = JSON.stringify({ shape, pad, kind });
        expect(maxAbsDiff(await on("wasm", f), want), label).toBeLessThan(TOLERANCE);
        expect(maxAbsDiff(await on("wasm", byJs), want), label).toBeLessThan(TOLERANCE);
        if (kind === "minusInfinity") expect(want.filter((e) => e === 0).length).toBeGreaterThan(0);
        checked++;
      }
    }
    expect(checked).toBe(12);
  });

  it("Sum and Mean over leading axes (SIMD) and others (wasm's own) match cpu", async () => {
    const shapes: number[][] = [
      [3, 5, 4, 7],
      [2, 9, 16],
      [6, 5],
      [1, 1, 3, 9],
    ];
    let checked = 0;
    for (const shape of shapes)
      for (const axis of [[0], [0, 1], [0, 1, 2], [1], [-1], [1, 0], undefined])
        for (const keepDims of [false, true])
          for (const kernel of [tf.Sum, tf.Mean]) {
            if (axis && axis.some((a) => a >= shape.length)) continue;
            const v = values(shape);
            const f = (): tf.Tensor =>
              tf.tidy(() =>
                run(
                  kernel,
                  { x: tf.tensor(v, shape) },
                  { axis: axis ?? [...shape.keys()], keepDims },
                ),
              );
            const got = await on("wasm", f);
            const want = await on("cpu", f);
            expect(maxAbsDiff(got, want), `${kernel} ${shape} ${axis} ${keepDims}`).toBeLessThan(
              TOLERANCE,
            );
            checked++;
          }
    expect(checked).toBeGreaterThan(100);
  });

  it("does not leak tensors or backend memory on repeated calls", async () => {
    await tf.setBackend("wasm");
    const backend = tf.backend();
    const x = tf.tensor4d(values([2, 7, 6, 3]), [2, 7, 6, 3]);
    const w = tf.tensor4d(values([3, 3, 3, 2]), [3, 3, 3, 2]);
    const dyDw = tf.tensor4d(values([2, 4, 3, 6]), [2, 4, 3, 6]);
    const dyConv = tf.tensor4d(values([2, 4, 3, 5]), [2, 4, 3, 5]);
    const wConv = tf.tensor4d(values([3, 3, 3, 5]), [3, 3, 3, 5]);
    const calls = (): tf.Tensor[] => [
      run(
        tf.DepthwiseConv2dNativeBackpropInput,
        { dy: dyDw, filter: w },
        { strides: 2, dilations: 1, pad: "same", inputShape: [2, 7, 6, 3] },
      ),
      run(
        tf.DepthwiseConv2dNativeBackpropFilter,
        { x, dy: dyDw },
        { strides: 2, dilations: 1, pad: "same", filterShape: [3, 3, 3, 2] },
      ),
      run(
        tf.Conv2DBackpropFilter,
        { x, dy: dyConv },
        { strides: 2, pad: "same", dataFormat: "NHWC", filterShape: [3, 3, 3, 5] },
      ),
      run(
        tf.Conv2DBackpropInput,
        { dy: dyConv, filter: wConv },
        { strides: 2, pad: "same", dataFormat: "NHWC", inputShape: [2, 7, 6, 3] },
      ),
      run(tf.Sum, { x }, { axis: [0, 1, 2], keepDims: false }),
      run(tf.Mean, { x }, { axis: [1, 2], keepDims: true }),
    ];
    calls().forEach((t) => t.dispose());
    const before = { ...tf.memory(), ids: backend.numDataIds() };
    for (let i = 0; i < 5; i++) {
      const outs = calls();
      await Promise.all(outs.map((t) => t.data()));
      outs.forEach((t) => t.dispose());
      tf.tidy(() => {
        calls();
      });
    }
    const after = { ...tf.memory(), ids: backend.numDataIds() };
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    expect(after.numDataBuffers).toBe(before.numDataBuffers);
    expect(after.ids).toBe(before.ids);
    tf.dispose([x, w, dyDw, dyConv, wConv]);
  });
});

describe("Identity and same-dtype Cast share data instead of copying", () => {
  it("a clone shares the buffer, outlives its source, and a variable's assign leaves it alone", async () => {
    await tf.setBackend("wasm");
    const backend = tf.backend();
    const ids = backend.numDataIds();
    const x = tf.tensor1d([1, 2, 3, 4]);
    const c = tf.clone(x);
    const same = tf.cast(x, "float32");
    expect(backend.numDataIds()).toBe(ids + 1); // one buffer, three tensors
    x.dispose();
    expect(Array.from(await c.data())).toEqual([1, 2, 3, 4]);
    same.dispose();
    expect(Array.from(c.dataSync())).toEqual([1, 2, 3, 4]);
    c.dispose();
    expect(backend.numDataIds()).toBe(ids);
    // The engine saves tensors for gradients with keep(clone(t)); an optimizer's assign then
    // gives the variable a new buffer, so what was saved keeps the old values.
    const [first, next] = [tf.tensor1d([5, 6]), tf.tensor1d([7, 8])];
    const v = tf.variable(first);
    const saved = tf.clone(v);
    v.assign(next);
    expect(Array.from(saved.dataSync())).toEqual([5, 6]);
    expect(Array.from(v.dataSync())).toEqual([7, 8]);
    tf.dispose([v, saved, first, next]);
    expect(backend.numDataIds()).toBe(ids);
  });

  it("casts to another dtype still convert, and strings still clone", async () => {
    await tf.setBackend("wasm");
    const f = tf.tensor1d([1.7, -2.2, 0]);
    expect(Array.from(tf.cast(f, "int32").dataSync())).toEqual([1, -2, 0]);
    const s = tf.tensor1d(["a", "b"], "string");
    expect(tf.clone(s).dataSync()).toEqual(["a", "b"]);
    tf.dispose([f, s]);
  });
});

describe("Slice and Unpack on the heap (memory.copy runs)", () => {
  it("the bulk module copies and fills, in both memory kinds", () => {
    for (const { exports: e, buffer } of onBothMemories(bulkModule)) {
      const bytes = new Uint8Array(buffer);
      bytes.set([1, 2, 3, 4, 5, 6, 7, 8], 0);
      e["copy"]!(2, 0, 6); // overlapping: memmove
      expect(Array.from(bytes.subarray(0, 8))).toEqual([1, 2, 1, 2, 3, 4, 5, 6]);
      e["fill"]!(1, 9, 3);
      expect(Array.from(bytes.subarray(0, 8))).toEqual([1, 9, 9, 9, 3, 4, 5, 6]);
    }
  });

  it("match the cpu backend on boxes of every rank, dtype and edge", async () => {
    const cases: [number[], number[], number[]][] = [
      [[7], [2], [4]],
      [[7], [0], [-1]],
      [
        [5, 6],
        [1, 0],
        [3, 6],
      ], // whole rows: one run
      [
        [5, 6],
        [1, 2],
        [3, 3],
      ],
      [
        [4, 5, 6],
        [0, 1, 2],
        [4, 3, -1],
      ],
      [
        [2, 7, 6, 3],
        [1, 1, 2, 0],
        [1, 5, 3, 3],
      ],
      [
        [2, 7, 6, 3],
        [0, 0, 0, 1],
        [2, 7, 6, 1],
      ], // one channel: runs of one element
      [
        [2, 3, 4, 5, 6],
        [1, 0, 1, 2, 3],
        [1, 3, 2, 2, 2],
      ],
      [
        [3, 4],
        [1, 1],
        [0, 2],
      ], // empty
      [
        [2, 2],
        [0, 0],
        [2, 2],
      ], // all of it
    ];
    for (const [shape, begin, size] of cases) {
      for (const dtype of ["float32", "int32", "bool"] as const) {
        const data = values(shape).map((v) => (dtype === "float32" ? v : v > 0 ? 1 : 0));
        const got = await on("wasm", () => tf.slice(tf.tensor(data, shape, dtype), begin, size));
        const want = await on("cpu", () => tf.slice(tf.tensor(data, shape, dtype), begin, size));
        expect(Array.from(got), `${dtype} [${shape}] at [${begin}] size [${size}]`).toEqual(
          Array.from(want),
        );
      }
    }
    for (const [shape, axis] of [
      [[4, 3, 2], 0],
      [[4, 3, 2], 1],
      [[4, 3, 2], -1],
      [[1, 6], 0],
    ] as [number[], number][]) {
      const data = values(shape);
      const unstacked = async (b: BackendName) => {
        await tf.setBackend(b);
        const parts = tf.unstack(tf.tensor(data, shape), axis);
        const out = parts.map((p) => ({ shape: p.shape, data: Array.from(p.dataSync()) }));
        tf.dispose(parts);
        return out;
      };
      expect(await unstacked("wasm")).toEqual(await unstacked("cpu"));
    }
  });

  it("leave no tensor or buffer behind", async () => {
    await tf.setBackend("wasm");
    const x = tf.tensor(values([3, 4, 5]), [3, 4, 5]);
    const before = tf.backend().numDataIds();
    tf.dispose([tf.slice(x, [1, 1, 0], [2, 2, 5]), ...tf.unstack(x, 1)]);
    expect(tf.backend().numDataIds()).toBe(before);
    x.dispose();
  });
});

describe("called directly with bare TensorInfos", () => {
  it("computes the same result and balances references", async () => {
    await tf.setBackend("wasm");
    const backend = tf.backend();
    const x = tf.tensor4d(values([2, 6, 5, 3]), [2, 6, 5, 3]);
    const dy = tf.tensor4d(values([2, 3, 3, 4]), [2, 3, 3, 4]);
    const attrs = { strides: 2, pad: "same", dataFormat: "NHWC", filterShape: [2, 2, 3, 4] };
    const viaEngine = run(tf.Conv2DBackpropFilter, { x, dy }, attrs);
    const want = (await viaEngine.data()) as Float32Array;
    viaEngine.dispose();
    const bare = (t: tf.Tensor): tf.TensorInfo => ({
      dataId: t.dataId,
      shape: t.shape,
      dtype: t.dtype,
    });
    const kernel = tf.getKernel(tf.Conv2DBackpropFilter, "wasm");
    const before = { ...tf.memory(), ids: backend.numDataIds() };
    const out = kernel.kernelFunc({
      inputs: { x: bare(x), dy: bare(dy) },
      backend,
      attrs: attrs as unknown as tf.NamedAttrMap,
    }) as tf.TensorInfo;
    // What the engine does with a kernel's output.
    const wrapped = tf.engine().makeTensorFromTensorInfo(out);
    expect(maxAbsDiff((await wrapped.data()) as Float32Array, want)).toBe(0);
    wrapped.dispose();
    const after = { ...tf.memory(), ids: backend.numDataIds() };
    expect(after).toEqual(before);
    expect(x.isDisposed || dy.isDisposed).toBe(false);
    expect((await x.data()).length).toBe(2 * 6 * 5 * 3);
    tf.dispose([x, dy]);
  });
});

describe("gradients on wasm", () => {
  it("tf.grads of a separable block equals the cpu backend's", async () => {
    for (const [stride, pad, multiplier] of [
      [1, "same", 1],
      [2, "same", 2],
      [1, "valid", 2],
      [2, "valid", 1],
    ] as const) {
      const xShape: Shape4 = [2, 9, 8, 3];
      const x = values(xShape);
      const dw = values([3, 3, 3, multiplier]);
      const pw = values([1, 1, 3 * multiplier, 4]);
      const k = values([3, 2, 4, 2]);
      const loss = (xs: tf.Tensor, dws: tf.Tensor, pws: tf.Tensor, ks: tf.Tensor): tf.Scalar => {
        const h = tf.relu(
          tf.separableConv2d(
            xs as tf.Tensor4D,
            dws as tf.Tensor4D,
            pws as tf.Tensor4D,
            stride,
            pad,
          ),
        );
        const y = tf.conv2d(h, ks as tf.Tensor4D, [2, 1], "same");
        return tf.sum(tf.square(tf.sin(y)));
      };
      const gradsOn = async (backend: BackendName): Promise<Float32Array[]> => {
        await tf.setBackend(backend);
        const grads = tf.grads(loss)([
          tf.tensor4d(x, xShape),
          tf.tensor4d(dw, [3, 3, 3, multiplier]),
          tf.tensor4d(pw, [1, 1, 3 * multiplier, 4]),
          tf.tensor4d(k, [3, 2, 4, 2]),
        ]);
        const out = await Promise.all(grads.map((g) => g.data() as Promise<Float32Array>));
        tf.dispose(grads);
        return out;
      };
      const got = await gradsOn("wasm");
      const want = await gradsOn("cpu");
      got.forEach((g, i) => {
        const diff = maxAbsDiff(g, want[i]!);
        expect(diff, `${stride} ${pad} ${multiplier} input ${i}`).toBeLessThan(TOLERANCE);
      });
    }
  });

  it("depthwise filter gradient matches central finite differences", async () => {
    await tf.setBackend("wasm");
    const xShape: Shape4 = [2, 6, 5, 2];
    const wShape: Shape4 = [3, 2, 2, 2];
    const x = tf.tensor4d(values(xShape), xShape);
    const r = tf.tensor4d(values([2, 3, 3, 4]), [2, 3, 3, 4]);
    const loss = (w: tf.Tensor): tf.Scalar =>
      tf.sum(tf.mul(tf.tanh(tf.depthwiseConv2d(x, w as tf.Tensor4D, 2, "same")), r));
    const w0 = values(wShape);
    const analytic = tf.grad(loss)(tf.tensor4d(w0, wShape));
    const g = (await analytic.data()) as Float32Array;
    analytic.dispose();
    const lossAt = async (w: Float32Array): Promise<number> => {
      const l = tf.tidy(() => loss(tf.tensor4d(w, wShape)));
      const v = (await l.data())[0]!;
      l.dispose();
      return v;
    };
    const eps = 1e-2;
    let worst = 0;
    for (let i = 0; i < w0.length; i++) {
      const plus = Float32Array.from(w0);
      const minus = Float32Array.from(w0);
      plus[i]! += eps;
      minus[i]! -= eps;
      const numeric = ((await lossAt(plus)) - (await lossAt(minus))) / (2 * eps);
      worst = Math.max(worst, Math.abs(numeric - g[i]!) / Math.max(1, Math.abs(numeric)));
    }
    expect(worst).toBeLessThan(5e-3);
    tf.dispose([x, r]);
  });
});

describe("more finite differences on wasm", () => {
  it("conv2d input gradient (stride 2, same)", async () => {
    await tf.setBackend("wasm");
    const w = tf.tensor4d(values([3, 3, 2, 3]), [3, 3, 2, 3]);
    const r = tf.tensor4d(values([2, 3, 3, 3]), [2, 3, 3, 3]);
    const loss = (x: tf.Tensor): tf.Scalar =>
      tf.sum(tf.mul(tf.tanh(tf.conv2d(x as tf.Tensor4D, w, 2, "same")), r));
    expect(await finiteDifferenceError(loss, [2, 6, 5, 2], values([2, 6, 5, 2]))).toBeLessThan(
      5e-3,
    );
    tf.dispose([w, r]);
  });

  it("conv2d filter gradient through the patch path (3 input channels, stride 2, valid)", async () => {
    await tf.setBackend("wasm");
    const xShape: Shape4 = [2, 7, 8, 3];
    const wShape: Shape4 = [3, 3, 3, 4];
    const x = tf.tensor4d(values(xShape), xShape);
    const info = tf.backend_util.computeConv2DInfo(xShape, wShape, 2, 1, "valid");
    expect(usePatches(geometryOf(info))).toBe(true);
    const r = tf.tensor4d(values([2, info.outHeight, info.outWidth, 4]), [
      2,
      info.outHeight,
      info.outWidth,
      4,
    ]);
    const loss = (w: tf.Tensor): tf.Scalar =>
      tf.sum(tf.mul(tf.tanh(tf.conv2d(x, w as tf.Tensor4D, 2, "valid")), r));
    expect(await finiteDifferenceError(loss, wShape, values(wShape))).toBeLessThan(5e-3);
    tf.dispose([x, r]);
  });

  it("conv2d filter gradient through the native tiles (stride 2, same, even input)", async () => {
    await tf.setBackend("wasm");
    const xShape: Shape4 = [1, 20, 20, 3];
    const wShape: Shape4 = [3, 3, 3, 5];
    const x = tf.tensor4d(values(xShape), xShape);
    const info = tf.backend_util.computeConv2DInfo(xShape, wShape, 2, 1, "same");
    expect(useNativeTiles(info)).toBe(true);
    const r = tf.tensor4d(values([1, info.outHeight, info.outWidth, 5]), [
      1,
      info.outHeight,
      info.outWidth,
      5,
    ]);
    const loss = (w: tf.Tensor): tf.Scalar =>
      tf.sum(tf.mul(tf.tanh(tf.conv2d(x, w as tf.Tensor4D, 2, "same")), r));
    expect(await finiteDifferenceError(loss, wShape, values(wShape))).toBeLessThan(5e-3);
    tf.dispose([x, r]);
  });

  it("pointwise conv2d filter gradient through the SIMD routine (5 -> 9 channels: edges)", async () => {
    await tf.setBackend("wasm");
    const xShape: Shape4 = [2, 5, 6, 5];
    const wShape: Shape4 = [1, 1, 5, 9];
    const x = tf.tensor4d(values(xShape), xShape);
    expect(useSimdPointwise(x, wShape)).toBe(true);
    expect(pointwiseFor(tf.backend())).toBeDefined();
    const r = tf.tensor4d(values([2, 5, 6, 9]), [2, 5, 6, 9]);
    const loss = (w: tf.Tensor): tf.Scalar =>
      tf.sum(tf.mul(tf.tanh(tf.conv2d(x, w as tf.Tensor4D, 1, "same")), r));
    expect(await finiteDifferenceError(loss, wShape, values(wShape))).toBeLessThan(5e-3);
    tf.dispose([x, r]);
  });

  it("max pool (3x3, stride 2, same)", async () => {
    await tf.setBackend("wasm");
    const shape = [2, 6, 5, 3];
    const n = 2 * 6 * 5 * 3;
    // Distinct values 0.05 apart, shuffled, so no step of 1e-2 changes which one is largest.
    const order = Array.from({ length: n }, (_, i) => i).sort(() => rand() - 0.5);
    const x0 = Float32Array.from(order, (i) => i * 0.05);
    const r = tf.tensor4d(values([2, 3, 3, 3]), [2, 3, 3, 3]);
    const loss = (x: tf.Tensor): tf.Scalar =>
      tf.sum(tf.mul(tf.maxPool(x as tf.Tensor4D, 3, 2, "same"), r));
    expect(await finiteDifferenceError(loss, shape, x0)).toBeLessThan(5e-3);
    r.dispose();
  });

  it("max pool over 9 channels (SIMD lanes and a scalar tail; 3x3, stride 2, same)", async () => {
    await tf.setBackend("wasm");
    const shape = [1, 5, 5, 9];
    const n = 5 * 5 * 9;
    const order = Array.from({ length: n }, (_, i) => i).sort(() => rand() - 0.5);
    const x0 = Float32Array.from(order, (i) => i * 0.05);
    const r = tf.tensor4d(values([1, 3, 3, 9]), [1, 3, 3, 9]);
    const loss = (x: tf.Tensor): tf.Scalar =>
      tf.sum(tf.mul(tf.maxPool(x as tf.Tensor4D, 3, 2, "same"), r));
    expect(await finiteDifferenceError(loss, shape, x0)).toBeLessThan(5e-3);
    r.dispose();
  });

  it("batch norm in training mode (statistics from the batch), through x and scale", async () => {
    await tf.setBackend("wasm");
    const xShape = [3, 4, 3, 5];
    const x0 = values(xShape);
    const scale0 = Float32Array.from(values([5]), (v) => 1 + v / 2);
    const r = tf.tensor(values(xShape), xShape);
    const norm = (x: tf.Tensor, scale: tf.Tensor): tf.Scalar => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const y = tf.batchNorm(x as tf.Tensor4D, mean, variance, tf.ones([5]), scale, 1e-3);
      return tf.sum(tf.mul(tf.tanh(y), r));
    };
    const scale = tf.tensor1d(scale0);
    const x = tf.tensor(x0, xShape);
    expect(await finiteDifferenceError((t) => norm(t, scale), xShape, x0)).toBeLessThan(5e-3);
    expect(await finiteDifferenceError((t) => norm(x, t), [5], scale0)).toBeLessThan(5e-3);
    tf.dispose([x, scale, r]);
  });

  it("batch norm: x, scale and offset gradients at once equal tfjs' own on cpu", async () => {
    const xShape = [2, 5, 4, 6];
    const x0 = values(xShape);
    const r0 = values(xShape);
    const scale0 = values([6]);
    const offset0 = values([6]);
    const grads = async (backend: BackendName): Promise<Float32Array[]> => {
      await tf.setBackend(backend);
      const r = tf.tensor(r0, xShape);
      const f = (x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor): tf.Scalar => {
        const { mean, variance } = tf.moments(x, [0, 1, 2]);
        const y = tf.batchNorm(x as tf.Tensor4D, mean, variance, offset, scale, 1e-3);
        return tf.sum(tf.mul(tf.tanh(y), r));
      };
      const gs = tf.grads(f)([tf.tensor(x0, xShape), tf.tensor1d(scale0), tf.tensor1d(offset0)]);
      const out = await Promise.all(gs.map(async (g) => (await g.data()) as Float32Array));
      tf.dispose([...gs, r]);
      return out;
    };
    const ours = await grads("wasm");
    tf.registerGradient(originalBatchNormGradient()!);
    let theirs: Float32Array[];
    try {
      theirs = await grads("cpu");
    } finally {
      tf.registerGradient(batchNormGradConfig);
    }
    ours.forEach((g, i) => expect(maxAbsDiff(g, theirs[i]!), String(i)).toBeLessThan(TOLERANCE));
  });

  it("batch norm's gradient equals tfjs' own on the cpu backend", async () => {
    await tf.setBackend("cpu");
    const xShape = [2, 5, 4, 6];
    const x = tf.tensor(values(xShape), xShape);
    const dy = tf.tensor(values(xShape), xShape);
    const mean = tf.tensor1d(values([6]));
    const variance = tf.tensor1d(Float32Array.from(values([6]), (v) => 1 + v));
    const scale = tf.tensor1d(values([6]));
    const attrs = { varianceEpsilon: 1e-3 } as unknown as tf.NamedAttrMap;
    const saved = [x, mean, variance, scale];
    const ours = batchNormGradConfig.gradFunc(dy, saved, attrs);
    const theirs = originalBatchNormGradient()!.gradFunc(dy, saved, attrs);
    for (const k of ["x", "mean", "variance", "scale", "offset"]) {
      const a = (await ours[k]!().data()) as Float32Array;
      const b = (await theirs[k]!().data()) as Float32Array;
      expect(maxAbsDiff(a, b), k).toBeLessThan(TOLERANCE * 10);
    }
    tf.dispose([x, dy, mean, variance, scale]);
  });
});

describe("training on wasm", () => {
  it("a separable + conv + dense model trains with model.fit and the loss falls", async () => {
    await tf.setBackend("wasm");
    // Class 1 images are brighter on the left half; easy to learn from edges.
    const n = 64;
    const size = 12;
    const xs: number[] = [];
    const ys: number[] = [];
    for (let i = 0; i < n; i++) {
      const label = i % 2;
      for (let h = 0; h < size; h++)
        for (let w = 0; w < size; w++) {
          const bright = w < size / 2 === (label === 1);
          xs.push((bright ? 0.8 : 0.2) + (rand() - 0.5) * 0.3);
        }
      ys.push(label);
    }
    const x = tf.tensor4d(xs, [n, size, size, 1]);
    const y = tf.oneHot(tf.tensor1d(ys, "int32"), 2);
    const model = tf.sequential({
      layers: [
        tf.layers.separableConv2d({
          inputShape: [size, size, 1],
          filters: 8,
          kernelSize: 3,
          depthMultiplier: 2,
          padding: "same",
          activation: "relu",
        }),
        tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, activation: "relu" }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2, activation: "softmax" }),
      ],
    });
    const optimizer = tf.train.adam(0.01);
    model.compile({ optimizer, loss: "categoricalCrossentropy" });
    const history = await model.fit(x, y, { epochs: 8, batchSize: 16, shuffle: false, verbose: 0 });
    const losses = history.history["loss"] as number[];
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! * 0.7);
    model.dispose();
    optimizer.dispose();
    tf.dispose([x, y]);
  });
});
