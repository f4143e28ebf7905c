import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initWasmBackend } from "../../../compiler/backends/tfjs/kernels/wasmInit.js";
import {
  closeKernelPool,
  kernelPoolStats,
  setKernelThreads,
} from "../../../compiler/backends/tfjs/kernels/pool.js";
import {
  installedReplacement,
  replacedWasmKernel,
} from "../../../compiler/backends/tfjs/kernels/register.js";
import {
  elementwiseAvailable,
  elementwise,
  originalReluGradient,
  ReluGrad,
} from "../../../compiler/backends/tfjs/kernels/elementwise.js";

// elementwise.ts: Relu of float32 tensors (large ones on archc's kernel pool) and the ReLU
// gradient as one pass. Each must give wasm's own kernels' bits (Relu: the one it replaced;
// the gradient: Step then Multiply, run on the same inputs), NaN payloads and signed zeros
// included, at one and two kernel threads, at sizes around the pool's threshold and not
// multiples of 4; what they do not handle (int32, empty) must give what cpu gives.

let pooled = false;

beforeAll(async () => {
  const started = await initWasmBackend({ threads: 2 });
  await tf.setBackend("wasm");
  pooled = started.threads === 2;
});

afterAll(async () => {
  setKernelThreads(undefined);
  await closeKernelPool(tf.backend());
});

// Edge values as float32 bits: NaNs of both signs and other payloads (a signalling one too),
// signed zeros, infinities, subnormals, ordinary numbers.
const EDGES = new Uint32Array([
  0x7fc00000, 0xffc00000, 0x7fc00001, 0xffc12345, 0x7fa00000, 0x00000000, 0x80000000, 0x7f800000,
  0xff800000, 0x00000001, 0x80000001, 0x3f800000, 0xbf800000, 0x40490fdb, 0xc0490fdb, 0x3e99999a,
  0x7f7fffff, 0xff7fffff,
]);

/** n floats: edge values among pseudo-random ones, `salt` varying the pattern. */
function values(n: number, salt: number): Float32Array {
  const bits = new Uint32Array(n);
  let s = (0x9e3779b9 * (salt + 1)) >>> 0;
  const f = new Float32Array(1);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    if (s % 5 === 0) bits[i] = EDGES[(s >>> 8) % EDGES.length]!;
    else {
      f[0] = ((s >>> 8) / 0x1000000 - 0.5) * 8;
      bits[i] = new Uint32Array(f.buffer)[0]!;
    }
  }
  return new Float32Array(bits.buffer);
}

const bitsOf = (t: tf.Tensor): Uint32Array =>
  new Uint32Array(Float32Array.from(t.dataSync() as Float32Array).buffer);

/** The kernel wasm shipped (before archc replaced it), run on the same inputs. */
function theirs(name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}): tf.Tensor {
  const k = (replacedWasmKernel(name) ?? tf.getKernel(name, "wasm"))!;
  const info = k.kernelFunc({ inputs, backend: tf.backend(), attrs }) as tf.TensorInfo;
  return tf.engine().makeTensorFromTensorInfo(info);
}

function expectSameBits(ours: tf.Tensor, ref: tf.Tensor): void {
  expect(ours.shape).toEqual(ref.shape);
  expect(ours.dtype).toBe(ref.dtype);
  const [a, b] = [bitsOf(ours), bitsOf(ref)];
  let first = -1;
  for (let i = 0; i < a.length && first < 0; i++) if (a[i] !== b[i]) first = i;
  expect(
    first,
    first < 0 ? "" : `element ${first}: ${a[first]!.toString(16)} vs ${b[first]!.toString(16)}`,
  ).toBe(-1);
}

// Small, around 64 Ki floats, odd tails, and one mini_xception activation (32x28x28x64 would be
// slow to check elementwise here; 8x28x28x37 has the same code path and an odd channel count).
const MIN_POOLED_ELEMENTS = 65536; // where the pool was timed from (bench/elementwise.ts)
const SIZES = [
  [1],
  [3],
  [7, 5],
  [MIN_POOLED_ELEMENTS - 1],
  [MIN_POOLED_ELEMENTS],
  [MIN_POOLED_ELEMENTS + 3],
  [8, 28, 28, 37],
  [2, 3, 129, 130],
];

describe.each([1, 2])("at %i kernel thread(s)", (threads) => {
  beforeAll(() => setKernelThreads(threads));

  it("is installed over wasm's kernels", () => {
    expect(replacedWasmKernel(tf.Relu)).toBeDefined();
    expect(tf.getKernel(tf.Relu, "wasm")).toBe(installedReplacement(tf.Relu));
    expect(elementwiseAvailable(tf.backend())).toBe(true);
  });

  it.each(SIZES)("Relu gives wasm's bits at %j", (...shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = tf.tensor(values(n, n), shape);
    const [ours, ref] = [tf.relu(x), theirs(tf.Relu, { x })];
    expectSameBits(ours, ref);
    // cut into ranges on the kernel pool (the bench's comparison) as well
    const pooledOut = tf
      .engine()
      .makeTensorFromTensorInfo(elementwise(tf.backend(), "relu", x, undefined, true));
    expectSameBits(pooledOut, ref);
    tf.dispose([x, ours, ref, pooledOut]);
  });

  it.each(SIZES)("the ReLU gradient is dy * cast(step(x)) to the bit at %j", (...shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = tf.tensor(values(n, 3), shape);
    const dy = tf.tensor(values(n, 4), shape);
    const before = tf.engine().state.numTensors;
    const ours = tf.engine().runKernel(ReluGrad, { dy, x }) as tf.Tensor;
    expect(tf.engine().state.numTensors).toBe(before + 1);
    const ref = tf.tidy(() => {
      const s = theirs(tf.Step, { x }, { alpha: 0 });
      return theirs(tf.Multiply, { a: dy, b: s });
    });
    expectSameBits(ours, ref);
    // and through tf.grad, as training takes it
    const g = tf.grad((t: tf.Tensor) => tf.relu(t))(x, dy);
    expectSameBits(g, ref);
    const pooledOut = tf
      .engine()
      .makeTensorFromTensorInfo(elementwise(tf.backend(), "reluGrad", dy, x, true));
    expectSameBits(pooledOut, ref);
    tf.dispose([x, dy, ours, ref, g, pooledOut]);
  });
});

describe("what stays with wasm's kernels", () => {
  beforeAll(() => setKernelThreads(2));

  it("int32 and empty tensors give what the cpu backend gives", async () => {
    const n = MIN_POOLED_ELEMENTS + 5;
    const cases: [string, () => tf.Tensor][] = [
      ["int32 relu", () => tf.relu(tf.range(-n / 2, n / 2, 1, "int32"))],
      ["empty relu", () => tf.relu(tf.zeros([0, 4]))],
      [
        "int32 relu gradient",
        () => tf.grad((t: tf.Tensor) => tf.relu(t))(tf.range(-5, 5, 1, "int32")),
      ],
      ["empty relu gradient", () => tf.grad((t: tf.Tensor) => tf.relu(t))(tf.zeros([0, 5]))],
    ];
    for (const [what, f] of cases) {
      const ours = tf.tidy(f);
      await tf.setBackend("cpu");
      const ref = tf.tidy(f);
      const refData = ref.dataSync();
      await tf.setBackend("wasm");
      expect(ours.shape, what).toEqual(ref.shape);
      expect(ours.dtype, what).toBe(ref.dtype);
      expect(Array.from(ours.dataSync()), what).toEqual(Array.from(refData));
      tf.dispose([ours, ref]);
    }
  });

  it("the ReLU gradient matches the cpu backend and finite differences", async () => {
    const shape = [4, 9, 9, 7];
    const n = shape.reduce((a, b) => a * b, 1);
    // Away from 0, where ReLU has no derivative.
    const xv = Float32Array.from({ length: n }, (_, i) => (((i * 37) % 23) - 11.5) / 4);
    const dyv = Float32Array.from({ length: n }, (_, i) => (((i * 11) % 17) - 8) / 8);
    const f = () =>
      tf.grad((t: tf.Tensor) => tf.relu(t))(tf.tensor(xv, shape), tf.tensor(dyv, shape));
    const ours = f().dataSync();
    await tf.setBackend("cpu");
    const ref = f().dataSync();
    await tf.setBackend("wasm");
    expect(Array.from(ours)).toEqual(Array.from(ref));
    const eps = 1e-2;
    for (let i = 0; i < n; i += 97) {
      const fd =
        (((xv[i]! + eps > 0 ? xv[i]! + eps : 0) - (xv[i]! - eps > 0 ? xv[i]! - eps : 0)) /
          (2 * eps)) *
        dyv[i]!;
      expect(ours[i]).toBeCloseTo(fd, 5);
    }
    // tfjs' own gradient is kept for backends without the fused kernel.
    expect(originalReluGradient()).toBeDefined();
  });

  it("a pooled pass runs on the pool's worker at two threads", () => {
    if (!pooled) return expect(pooled).toBe(false);
    const x = tf.randomNormal([4 * MIN_POOLED_ELEMENTS]);
    const before = kernelPoolStats(tf.backend()).workerTasks;
    const backend = tf.backend();
    // The worker wakes while this thread works; on a busy machine it may take a few jobs.
    for (let i = 0; i < 200 && kernelPoolStats(backend).workerTasks === before; i++)
      tf.engine()
        .makeTensorFromTensorInfo(elementwise(backend, "relu", x, undefined, true))
        .dispose();
    expect(kernelPoolStats(tf.backend()).workerTasks).toBeGreaterThan(before);
    x.dispose();
  });
});
