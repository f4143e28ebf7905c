/**
 * Times one training step of a small separable CNN on tfjs's wasm backend (with
 * the composite training kernels from compiler/backends/tfjs/kernels) against the
 * pure-JS cpu backend. Batch 32 of 28x28x1.
 *
 *   npx tsx bench/kernels.ts
 */
import * as tf from "@tensorflow/tfjs";
import { initWasmBackend } from "../compiler/backends/tfjs/kernels/wasmInit.js";

const BATCH = 32;

function buildModel(): tf.Sequential {
  const model = tf.sequential({
    layers: [
      tf.layers.separableConv2d({
        inputShape: [28, 28, 1],
        filters: 16,
        kernelSize: 3,
        depthMultiplier: 2,
        padding: "same",
        activation: "relu",
      }),
      tf.layers.separableConv2d({
        filters: 16,
        kernelSize: 3,
        padding: "same",
        activation: "relu",
      }),
      tf.layers.conv2d({ filters: 16, kernelSize: 3, strides: 2, activation: "relu" }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, activation: "softmax" }),
    ],
  });
  // A string optimizer is owned (and disposed) by the model.
  model.compile({ optimizer: "adam", loss: "categoricalCrossentropy" });
  return model;
}

async function msPerStep(backend: "wasm" | "cpu", warmup: number, steps: number): Promise<number> {
  await tf.setBackend(backend);
  const model = buildModel();
  const x = tf.randomUniform([BATCH, 28, 28, 1], 0, 1, "float32", 1);
  const y = tf.oneHot(tf.randomUniform([BATCH], 0, 10, "int32", 2) as tf.Tensor1D, 10);
  for (let i = 0; i < warmup; i++) await model.trainOnBatch(x, y);
  const start = performance.now();
  for (let i = 0; i < steps; i++) await model.trainOnBatch(x, y);
  const ms = (performance.now() - start) / steps;
  model.dispose();
  tf.dispose([x, y]);
  return ms;
}

/**
 * Where a wasm step's time goes, by kernel (top entries). The profiler also
 * records the kernels that the composite kernels run internally, so e.g.
 * DepthwiseConv2dNative includes the convolution inside
 * DepthwiseConv2dNativeBackpropFilter.
 */
async function wasmBreakdown(): Promise<string[]> {
  await tf.setBackend("wasm");
  const model = buildModel();
  const x = tf.randomUniform([BATCH, 28, 28, 1], 0, 1, "float32", 1);
  const y = tf.oneHot(tf.randomUniform([BATCH], 0, 10, "int32", 2) as tf.Tensor1D, 10);
  await model.trainOnBatch(x, y);
  const info = await tf.profile(() => model.trainOnBatch(x, y));
  const byKernel = new Map<string, number>();
  for (const k of info.kernels) {
    const t = typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
    byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + t);
  }
  model.dispose();
  tf.dispose([x, y]);
  return [...byKernel.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([name, ms]) => `${name.padEnd(38)} ${ms.toFixed(1).padStart(7)} ms`);
}

/**
 * How far archc's composed wasm kernels are from the cpu backend's reference kernels on one
 * Xception-sized problem each (the tests check many small random ones against a tolerance).
 */
async function accuracy(): Promise<string[]> {
  const x = tf.randomUniform([2, 19, 19, 64], -1, 1, "float32", 3) as tf.Tensor4D;
  const problems = [
    {
      name: "Conv2DBackpropFilter (+ its input gradient)",
      w: tf.randomUniform([3, 3, 64, 32], -1, 1, "float32", 5) as tf.Tensor4D,
      dy: tf.randomUniform([2, 19, 19, 32], -1, 1, "float32", 7),
      op: (xi: tf.Tensor4D, wi: tf.Tensor4D) => tf.conv2d(xi, wi, 1, "same"),
    },
    {
      name: "DepthwiseConv2dNativeBackpropFilter / Input",
      w: tf.randomUniform([3, 3, 64, 1], -1, 1, "float32", 4) as tf.Tensor4D,
      dy: tf.randomUniform([2, 19, 19, 64], -1, 1, "float32", 6),
      op: (xi: tf.Tensor4D, wi: tf.Tensor4D) => tf.depthwiseConv2d(xi, wi, 1, "same"),
    },
  ];
  const gradients = async (backend: "wasm" | "cpu", p: (typeof problems)[number]) => {
    await tf.setBackend(backend);
    const [gx, gw] = tf.grads((xi: tf.Tensor, wi: tf.Tensor) =>
      p
        .op(xi as tf.Tensor4D, wi as tf.Tensor4D)
        .mul(p.dy)
        .sum(),
    )([x, p.w]);
    const out = [(await gx!.data()) as Float32Array, (await gw!.data()) as Float32Array];
    tf.dispose([gx!, gw!]);
    return out;
  };
  const maxDiff = (a: Float32Array, b: Float32Array) =>
    a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
  const lines: string[] = [];
  for (const p of problems) {
    const [wasmX, wasmW] = await gradients("wasm", p);
    const [cpuX, cpuW] = await gradients("cpu", p);
    lines.push(
      `${p.name.padEnd(44)} max |wasm - cpu|: input ${maxDiff(wasmX!, cpuX!).toExponential(1)}, ` +
        `filter ${maxDiff(wasmW!, cpuW!).toExponential(1)}`,
    );
    tf.dispose([p.w, p.dy]);
  }
  x.dispose();
  return lines;
}

async function main(): Promise<void> {
  await initWasmBackend();
  const wasm = await msPerStep("wasm", 2, 10);
  console.log(`wasm: ${wasm.toFixed(1)} ms/step (batch ${BATCH}, 28x28x1)`);
  const cpu = await msPerStep("cpu", 1, 2);
  console.log(`cpu:  ${cpu.toFixed(1)} ms/step`);
  console.log(`wasm speed-up: ${(cpu / wasm).toFixed(1)}x`);
  console.log("wasm kernel time in one step (profiled, top 8; nested kernels counted twice):");
  for (const line of await wasmBreakdown()) console.log("  " + line);
  console.log("accuracy of the composed wasm kernels against cpu:");
  for (const line of await accuracy()) console.log("  " + line);
}

await main();
