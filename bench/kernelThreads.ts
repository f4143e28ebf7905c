/**
 * archc's own wasm kernels alone at 1 and 2 (or ARCHC_BENCH_KERNEL_THREADS) kernel-pool
 * threads (compiler/backends/tfjs/kernels/pool.ts), interleaved round by round in one process
 * on the threaded backend, so a busy machine's load falls on both sides alike. Shapes are
 * mini_xception's (batch 32, 28x28 and 14x14, 64-128 channels) and one Xception middle layer.
 * Beside each wall-clock median, the process's CPU time per call (all threads): a second
 * thread that only adds overhead shows there even when a loaded machine hides the speed-up.
 *
 *   ARCHC_BENCH_ROUNDS=N npm run bench -- threads   (default 5 rounds)
 *   ARCHC_BENCH_KERNELS=depthwise,max-pool ...      (only kernels whose name has one of these)
 */
import * as tf from "@tensorflow/tfjs";
import os from "node:os";
import { initWasmBackend } from "../compiler/backends/tfjs/kernels/wasmInit.js";
import {
  GroupedConv2DBackpropFilter,
  GroupedConv2DBackpropInput,
  groupedConv2dNative,
} from "../compiler/backends/tfjs/kernels/groupedConv.js";
import { batchNormTraining } from "../compiler/backends/tfjs/kernels/batchNormTraining.js";
import { setKernelThreads } from "../compiler/backends/tfjs/kernels/pool.js";
import { median } from "./timing.js";

interface Case {
  name: string;
  /** Makes the inputs once; returns the timed call (which returns what to free). */
  setup: () => { run: () => tf.Tensor | tf.Tensor[]; inputs: tf.Tensor[] };
}

const rnd = (shape: number[]) => tf.randomNormal(shape, 0, 1, "float32", 1);

function grouped(b: number, hw: number, c: number, groups: number): Case[] {
  const attrs = { strides: 1, pad: "same" as const, dilations: 1, groups };
  const label = `${b}x${hw}x${hw}x${c}, 3x3, ${groups} groups`;
  const make = () => {
    const x = rnd([b, hw, hw, c]);
    const k = rnd([3, 3, c / groups, c]);
    const dy = rnd([b, hw, hw, c]);
    return { x, k, dy, inputs: [x, k, dy] };
  };
  return [
    {
      name: `grouped forward, ${label}`,
      setup: () => {
        const { x, k, inputs } = make();
        return {
          run: () => groupedConv2dNative(x as tf.Tensor4D, k as tf.Tensor4D, attrs),
          inputs,
        };
      },
    },
    {
      name: `grouped input gradient, ${label}`,
      setup: () => {
        const { x, k, dy, inputs } = make();
        const a = { ...attrs, inputShape: x.shape } as unknown as tf.NamedAttrMap;
        return {
          run: () =>
            tf.engine().runKernel(GroupedConv2DBackpropInput, { dy, filter: k }, a) as tf.Tensor,
          inputs,
        };
      },
    },
    {
      name: `grouped filter gradient, ${label}`,
      setup: () => {
        const { x, k, dy, inputs } = make();
        const a = { ...attrs, filterShape: k.shape } as unknown as tf.NamedAttrMap;
        return {
          run: () => tf.engine().runKernel(GroupedConv2DBackpropFilter, { x, dy }, a) as tf.Tensor,
          inputs,
        };
      },
    },
  ];
}

/** The depthwise gradients (multiplier 1, 3x3 'same') and the max-pool gradient at b x hw x hw x c. */
function depthwise(b: number, hw: number, c: number): Case[] {
  const label = `${b}x${hw}x${hw}x${c}`;
  const attrs = { strides: 1, pad: "same", dilations: 1 };
  return [
    {
      name: `depthwise filter gradient, ${label}, 3x3`,
      setup: () => {
        const [x, dy] = [rnd([b, hw, hw, c]), rnd([b, hw, hw, c])];
        const a = { ...attrs, filterShape: [3, 3, c, 1] };
        return {
          run: () =>
            tf
              .engine()
              .runKernel(tf.DepthwiseConv2dNativeBackpropFilter, { x, dy }, a) as tf.Tensor,
          inputs: [x, dy],
        };
      },
    },
    {
      name: `depthwise input gradient, ${label}, 3x3`,
      setup: () => {
        const [dy, filter] = [rnd([b, hw, hw, c]), rnd([3, 3, c, 1])];
        const a = { ...attrs, inputShape: [b, hw, hw, c] };
        return {
          run: () =>
            tf
              .engine()
              .runKernel(tf.DepthwiseConv2dNativeBackpropInput, { dy, filter }, a) as tf.Tensor,
          inputs: [dy, filter],
        };
      },
    },
    {
      name: `max-pool gradient, ${label}, 3x3 stride 2`,
      setup: () => {
        const input = rnd([b, hw, hw, c]);
        const output = tf.maxPool(input as tf.Tensor4D, 3, 2, "same");
        const dy = rnd(output.shape);
        const a = { filterSize: 3, strides: 2, pad: "same" };
        return {
          run: () => tf.engine().runKernel(tf.MaxPoolGrad, { dy, input, output }, a) as tf.Tensor,
          inputs: [input, output, dy],
        };
      },
    },
  ];
}

const CASES: Case[] = [
  ...depthwise(32, 28, 128),
  ...depthwise(8, 19, 728),
  ...grouped(32, 14, 128, 8),
  ...grouped(32, 28, 64, 4),
  ...grouped(8, 19, 728, 8),
  {
    name: "pointwise filter gradient, 32x28x28, 64 -> 128",
    setup: () => {
      const x = rnd([32, 28, 28, 64]);
      const dy = rnd([32, 28, 28, 128]);
      const attrs = { strides: 1, pad: "same", dataFormat: "NHWC", filterShape: [1, 1, 64, 128] };
      return {
        run: () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs) as tf.Tensor,
        inputs: [x, dy],
      };
    },
  },
  {
    name: "batch norm forward and gradient, 32x28x28x64",
    setup: () => {
      const x = rnd([32, 28, 28, 64]);
      const r = rnd([32, 28, 28, 64]);
      const g = tf.ones([64]) as tf.Tensor1D;
      const b = tf.zeros([64]) as tf.Tensor1D;
      const loss = (v: tf.Tensor) => tf.sum(tf.mul(batchNormTraining(v, g, b, 1e-3)[0], r));
      return { run: () => tf.grad(loss)(x), inputs: [x, r, g, b] };
    },
  },
];

export async function runKernelThreadsBench(): Promise<void> {
  const counts = (process.env["ARCHC_BENCH_KERNEL_THREADS"] ?? "1,2").split(",").map(Number);
  const rounds = Number(process.env["ARCHC_BENCH_ROUNDS"] ?? 5);
  const started = await initWasmBackend({ threads: Math.max(...counts) });
  await tf.setBackend("wasm");
  console.log(
    `wasm backend on ${started.threads} thread(s)${started.note ? ` (${started.note})` : ""}; ` +
      `kernel threads ${counts.join(" vs ")}, ${rounds} rounds interleaved; ` +
      `load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}`,
  );
  console.log(
    `| kernel | ${counts.map((c) => `${c} thread(s): wall ms (CPU ms)`).join(" | ")} | speed-up ${counts[0]} -> ${counts[counts.length - 1]} |`,
  );
  console.log(`| --- | ${counts.map(() => "---:").join(" | ")} | ---: |`);
  const only = process.env["ARCHC_BENCH_KERNELS"]?.split(",").filter((w) => w !== "");
  for (const c of CASES) {
    if (only && !only.some((w) => c.name.includes(w))) continue;
    const { run, inputs } = c.setup();
    const times = new Map<number, number[]>(counts.map((n) => [n, []]));
    const cpu = new Map<number, number[]>(counts.map((n) => [n, []]));
    const once = (threads: number) => {
      setKernelThreads(threads);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const out = run();
      for (const t of [out].flat()) t.dataSync();
      const ms = performance.now() - t0;
      const used = process.cpuUsage(c0);
      tf.dispose(out);
      return [ms, (used.user + used.system) / 1000] as const;
    };
    for (const n of counts) once(n); // warm-up: modules, pool, heap
    for (let r = 0; r < rounds; r++)
      for (const n of r % 2 ? [...counts].reverse() : counts) {
        const [ms, cpuMs] = once(n);
        times.get(n)!.push(ms);
        cpu.get(n)!.push(cpuMs);
      }
    setKernelThreads(undefined);
    tf.dispose(inputs);
    const med = counts.map((n) => median(times.get(n)!));
    const cpuMed = counts.map((n) => median(cpu.get(n)!));
    console.log(
      `| ${c.name} | ${med.map((m, i) => `${m.toFixed(1)} (${cpuMed[i]!.toFixed(1)})`).join(" | ")} | ${(med[0]! / med[med.length - 1]!).toFixed(2)}x |`,
    );
  }
  console.log(
    `load average after: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
}
