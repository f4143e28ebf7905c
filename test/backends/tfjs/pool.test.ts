import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initWasmBackend } from "../../../compiler/backends/tfjs/kernels/wasmInit.js";
import {
  closeKernelPool,
  evenCalls,
  kernelPoolStats,
  poolThreads,
  runJob,
  setKernelThreads,
  taskCount,
  terminatePoolWorkerWhenBusy,
  type Call,
  type Job,
} from "../../../compiler/backends/tfjs/kernels/pool.js";
import {
  addressOf,
  functionBody,
  i32Params,
  memoryImport,
  op,
  repeat,
  rowsModule,
  section,
  str,
  WASM_HEADER,
} from "../../../compiler/backends/tfjs/kernels/simd.js";
import { batchNormTraining } from "../../../compiler/backends/tfjs/kernels/batchNormTraining.js";
import { groupedConv2dNative } from "../../../compiler/backends/tfjs/kernels/groupedConv.js";

// The kernel pool (kernels/pool.ts): archc's SIMD routines run on worker threads that share
// the wasm backend's memory. A job's tasks must give the same memory as running every call
// in order on one thread, a task that throws must neither hang the caller nor break the
// pool, and the workers must never keep the process alive (kernels.test.ts's exit test).

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

const ROW = 37; // floats per row: vector part and a scalar tail
// Values whose products and sums float32 holds exactly.
const A = (i: number) => (i % 13) - 6;
const B = (i: number) => (i % 7) * 0.25;

/** acc[r] += a[r] * b[r] for `rows` rows, as `calls` calls of simd.ts's `rows`. */
function rowsJob(acc: tf.Tensor, a: tf.Tensor, b: tf.Tensor, rows: number, calls: number): Job {
  const backend = tf.backend();
  const bytes = 4 * ROW;
  const per = rows / calls;
  const list: Call[] = Array.from({ length: calls }, (_, i) => ({
    module: rowsModule,
    fn: "rows",
    args: [
      addressOf(backend, acc) + i * per * bytes,
      addressOf(backend, a) + i * per * bytes,
      addressOf(backend, b) + i * per * bytes,
      ROW,
      per,
      bytes,
      bytes,
      bytes,
    ],
  }));
  return {
    calls: list,
    grid: [
      evenCalls(calls, 3),
      // rows(acc, a, b, n, count, accStride, aStride, bStride): cut `count`.
      {
        kind: "arg",
        parts: 4,
        count: 4,
        moves: [
          [0, 5],
          [1, 6],
          [2, 7],
        ],
      },
    ],
  };
}

function runRows(threads: number, rows: number, calls: number): Float32Array {
  setKernelThreads(threads);
  try {
    const acc = tf.fill([rows, ROW], 0.5);
    const a = tf.tensor2d(
      Float32Array.from({ length: rows * ROW }, (_, i) => A(i)),
      [rows, ROW],
    );
    const b = tf.tensor2d(
      Float32Array.from({ length: rows * ROW }, (_, i) => B(i)),
      [rows, ROW],
    );
    const job = rowsJob(acc, a, b, rows, calls);
    expect(taskCount(job)).toBe(12);
    runJob(tf.backend(), job);
    const out = acc.dataSync() as Float32Array;
    tf.dispose([acc, a, b]);
    return out;
  } finally {
    setKernelThreads(undefined);
  }
}

describe("the kernel pool", () => {
  it("runs on the backend's shared memory with the backend's thread count", () => {
    if (!pooled) return expect(poolThreads(tf.backend())).toBe(1);
    expect(poolThreads(tf.backend())).toBe(2);
    setKernelThreads(1);
    expect(poolThreads(tf.backend())).toBe(1);
    setKernelThreads(undefined);
  });

  it("cuts calls and their loops into tasks that give what one thread gives, bit for bit", () => {
    const one = runRows(1, 240, 6);
    expect(one).toEqual(Float32Array.from({ length: 240 * ROW }, (_, i) => 0.5 + A(i) * B(i)));
    expect(runRows(2, 240, 6)).toEqual(one);
    expect(runRows(2, 24, 6)).toEqual(runRows(1, 24, 6)); // shares of 1 row and empty ones
  });

  it("has its worker take tasks", () => {
    if (!pooled) return;
    const before = kernelPoolStats(tf.backend()).workerTasks;
    // The worker wakes while this thread works; on a busy machine it may take a few jobs.
    for (let i = 0; i < 200 && kernelPoolStats(tf.backend()).workerTasks === before; i++)
      runRows(2, 2400, 24);
    expect(kernelPoolStats(tf.backend())).toMatchObject({ threads: 2 });
    expect(kernelPoolStats(tf.backend()).workerTasks).toBeGreaterThan(before);
  });

  it("reports a task that fails, after every task has ended, and keeps working", () => {
    setKernelThreads(2);
    try {
      const out = tf.zeros([64, ROW]);
      const at = addressOf(tf.backend(), out);
      // Every other call writes far beyond the memory: a trap in whichever thread runs it.
      const calls: Call[] = Array.from({ length: 64 }, (_, i) => ({
        module: rowsModule,
        fn: "rows",
        args: [i % 2 ? 0x7ff00000 : at + 4 * ROW * i, at, at, ROW, 1, 0, 0, 0],
      }));
      expect(() => runJob(tf.backend(), { calls, grid: [evenCalls(64, 64)] })).toThrow(
        /out of bounds/,
      );
      expect(() =>
        runJob(tf.backend(), {
          calls: [{ module: rowsModule, fn: "nope", args: [] }],
          grid: [evenCalls(1, 1)],
        }),
      ).toThrow(/no routine 'nope'/);
      out.dispose();
    } finally {
      setKernelThreads(undefined);
    }
    expect(runRows(2, 240, 6)).toEqual(runRows(1, 240, 6));
  });

  it("a worker that dies in the middle of a task is an error naming the kernel, not a hang", () => {
    if (!pooled) return;
    // spin(count): a loop of `count` empty turns, a task long enough to be killed in.
    const spinModule = (shared: boolean) =>
      Uint8Array.from([
        ...WASM_HEADER,
        ...section(1, [1, ...i32Params(1)]),
        ...memoryImport(shared),
        ...section(3, [1, 0]),
        ...section(7, [1, ...str("spin"), 0x00, 0]),
        ...section(10, [1, ...functionBody([0], [...repeat(0, []), op.end])]),
      ]);
    setKernelThreads(2);
    try {
      expect(runRows(2, 240, 6)).toEqual(runRows(1, 240, 6)); // the pool is up
      const before = kernelPoolStats(tf.backend()).workerTasks;
      terminatePoolWorkerWhenBusy(tf.backend(), 0);
      const calls: Call[] = Array.from({ length: 8 }, () => ({
        module: spinModule,
        fn: "spin",
        args: [200_000_000],
      }));
      expect(() =>
        runJob(tf.backend(), { calls, grid: [evenCalls(8, 8)], kernel: "ArchcTestSpin" }),
      ).toThrow(
        /ArchcTestSpin did not finish: worker thread 1 of the kernel pool died in the middle of a task/,
      );
      expect(kernelPoolStats(tf.backend()).workerTasks).toBeGreaterThanOrEqual(before);
      // The next job gets a fresh pool, and gives what one thread gives.
      expect(runRows(2, 240, 6)).toEqual(runRows(1, 240, 6));
      expect(kernelPoolStats(tf.backend())).toMatchObject({ threads: 2 });
    } finally {
      setKernelThreads(undefined);
    }
  }, 60_000);

  it("the pooled kernels give one thread's bits, or its sums reassociated", () => {
    /** Every output of `f` on `threads` kernel threads, from fixed inputs. */
    const outputs = (threads: number, f: () => tf.Tensor[]): Float32Array[] => {
      setKernelThreads(threads);
      try {
        const ts = tf.tidy(f);
        const out = ts.map((t) => t.dataSync() as Float32Array);
        tf.dispose(ts);
        return out;
      } finally {
        setKernelThreads(undefined);
      }
    };
    const x = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, "float32", seed);
    const kernels: [string, () => tf.Tensor[]][] = [
      [
        "batch norm and its gradient",
        () => {
          const input = x([4, 16, 16, 64], 3);
          const r = x([4, 16, 16, 64], 4);
          const [g, b] = [x([64], 5) as tf.Tensor1D, x([64], 6) as tf.Tensor1D];
          const loss = (v: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) =>
            tf.sum(
              tf.mul(batchNormTraining(v, gamma as tf.Tensor1D, beta as tf.Tensor1D, 1e-3)[0], r),
            );
          return [...batchNormTraining(input, g, b, 1e-3), ...tf.grads(loss)([input, g, b])];
        },
      ],
      ["sum over leading axes", () => [tf.sum(x([8, 16, 16, 96], 7), [0, 1, 2])]],
      [
        "grouped convolution and its input gradient",
        () => {
          const attrs = { strides: 1, pad: "same" as const, dilations: 1, groups: 4 };
          const k = x([3, 3, 8, 32], 8) as tf.Tensor4D;
          const conv = (v: tf.Tensor) => groupedConv2dNative(v as tf.Tensor4D, k, attrs);
          const input = x([3, 10, 10, 32], 9);
          return [conv(input), tf.grad((v: tf.Tensor) => tf.sum(tf.square(conv(v))))(input)];
        },
      ],
    ];
    const dwAttrs = { strides: 1, pad: "same", dilations: 1 };
    kernels.push(
      [
        "depthwise input gradient (runs of samples)",
        () => [
          tf
            .engine()
            .runKernel(
              tf.DepthwiseConv2dNativeBackpropInput,
              { dy: x([6, 14, 14, 48], 10), filter: x([3, 3, 48, 1], 11) },
              { ...dwAttrs, inputShape: [6, 14, 14, 48] },
            ) as tf.Tensor,
        ],
      ],
      [
        "depthwise input gradient, one sample (channel shares)",
        () => [
          tf
            .engine()
            .runKernel(
              tf.DepthwiseConv2dNativeBackpropInput,
              { dy: x([1, 20, 20, 64], 12), filter: x([3, 3, 64, 1], 13) },
              { ...dwAttrs, inputShape: [1, 20, 20, 64] },
            ) as tf.Tensor,
        ],
      ],
      [
        "MaxPoolGrad (runs of samples; overlapping windows)",
        () => {
          const input = x([6, 20, 20, 32], 14);
          const output = tf.maxPool(input as tf.Tensor4D, 3, 2, "same");
          return [
            tf
              .engine()
              .runKernel(
                tf.MaxPoolGrad,
                { dy: x(output.shape, 15), input, output },
                { filterSize: 3, strides: 2, pad: "same" },
              ) as tf.Tensor,
          ];
        },
      ],
    );
    for (const [name, f] of kernels) expect(outputs(2, f), name).toEqual(outputs(1, f));
    // The depthwise filter gradient sums runs of samples into copies: reassociation only.
    const depthwise = () => [
      tf
        .engine()
        .runKernel(
          tf.DepthwiseConv2dNativeBackpropFilter,
          { x: x([6, 14, 14, 48], 16), dy: x([6, 14, 14, 48], 17) },
          { ...dwAttrs, filterShape: [3, 3, 48, 1] },
        ) as tf.Tensor,
    ];
    const [dw1] = outputs(1, depthwise);
    const [dw2] = outputs(2, depthwise);
    expect(dw2).not.toEqual(dw1); // cut into runs of samples
    for (let i = 0; i < dw1!.length; i++) expect(Math.abs(dw2![i]! - dw1![i]!)).toBeLessThan(1e-3);
    // The pointwise filter gradient sums pixel runs into copies: float32 reassociation only.
    const pointwise = () => [
      tf
        .engine()
        .runKernel(
          tf.Conv2DBackpropFilter,
          { x: x([2, 28, 28, 32], 1), dy: x([2, 28, 28, 64], 2) },
          { strides: 1, pad: "same", dataFormat: "NHWC", filterShape: [1, 1, 32, 64] },
        ) as tf.Tensor,
    ];
    const [one] = outputs(1, pointwise);
    const [two] = outputs(2, pointwise);
    expect(two).not.toEqual(one); // cut into tasks, or this test would not see the pool
    for (let i = 0; i < one!.length; i++) expect(Math.abs(two![i]! - one![i]!)).toBeLessThan(1e-3);
  });

  it("refuses a thread count that is not a whole number >= 1", () => {
    expect(() => setKernelThreads(0)).toThrow(/whole number >= 1, got 0/);
    expect(() => setKernelThreads(1.5)).toThrow(/got 1.5/);
  });
});
