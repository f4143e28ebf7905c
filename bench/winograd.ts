/**
 * Times a stride-1 3x3 convolution as Winograd F(2x2, 3x3) (kernels/winograd.ts: SIMD transforms
 * on the kernel pool around 16 XNNPACK GEMMs) against XNNPACK's own conv2d, interleaved call by
 * call so that load on the machine hits both alike, and checks they agree. Prints per-call
 * medians of process CPU time (and wall-clock), mini_xception's and Xception's 3x3 shapes.
 *
 *   npx tsx bench/winograd.ts [--reps N] [--threads N] [--only LABEL]
 */
import * as tf from "@tensorflow/tfjs";
import { replacedWasmKernel } from "../compiler/backends/tfjs/kernels/register.js";
import { winogradConv2d } from "../compiler/backends/tfjs/kernels/winograd.js";
import { initWasmBackend } from "../compiler/backends/tfjs/kernels/wasmInit.js";
import { median } from "./timing.js";

const shapes: [string, [number, number, number, number], number][] = [
  ["mini 28x28 32->32", [32, 28, 28, 32], 32],
  ["mini 28x28 64->64", [32, 28, 28, 64], 64],
  ["mini 14x14 64->64", [32, 14, 14, 64], 64],
  ["mini 14x14 128->128", [32, 14, 14, 128], 128],
  ["mini 7x7 128->128", [32, 7, 7, 128], 128],
  ["mini 7x7 256->256", [32, 7, 7, 256], 256],
  ["Xception 19x19 728->728", [8, 19, 19, 728], 728],
  ["Xception 149x149 32->64", [8, 149, 149, 32], 64],
];

const flag = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const reps = Number(flag("--reps") ?? 7);
const threads = flag("--threads") === undefined ? undefined : Number(flag("--threads"));
const only = flag("--only");
const started = await initWasmBackend(threads === undefined ? {} : { threads });
const backend = tf.backend();
// XNNPACK's own conv, whatever archc registered for Conv2D.
const xnn = replacedWasmKernel(tf.Conv2D) ?? tf.getKernel(tf.Conv2D, "wasm")!;

function timed(f: () => tf.TensorInfo): { wall: number; cpu: number; out: tf.Tensor } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = tf.engine().makeTensorFromTensorInfo(f(), backend);
  out.dataSync();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000, out };
}

console.log(
  `wasm, ${started.threads} thread(s), median of ${reps} interleaved calls, load ${(
    await import("node:os")
  )
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}; ` + "ms: xnnpack winograd (xnnpack/winograd), cpu = process CPU time",
);
for (const [label, xs, co] of shapes) {
  if (only && !label.includes(only)) continue;
  const x = tf.randomNormal(xs);
  const f = tf.randomNormal([3, 3, xs[3], co]);
  const ref = () =>
    xnn.kernelFunc({
      inputs: { x, filter: f },
      backend,
      attrs: { strides: 1, pad: "same", dataFormat: "NHWC", dilations: 1 },
    }) as tf.TensorInfo;
  const wino = () =>
    winogradConv2d(backend, x, f, {
      padTop: 1,
      padLeft: 1,
      outHeight: xs[1],
      outWidth: xs[2],
    })!;
  const cpu: number[][] = [[], []];
  const wall: number[][] = [[], []];
  let diff = 0;
  for (let r = 0; r < reps; r++) {
    const a = timed(ref);
    const b = timed(wino);
    if (r === 0)
      diff = tf.tidy(
        () =>
          tf.max(tf.abs(tf.sub(a.out, b.out))).dataSync()[0]! /
          tf.max(tf.abs(a.out)).dataSync()[0]!,
      );
    (cpu[0]!.push(a.cpu), cpu[1]!.push(b.cpu), wall[0]!.push(a.wall), wall[1]!.push(b.wall));
    tf.dispose([a.out, b.out]);
  }
  const [c0, c1] = cpu.map(median) as [number, number];
  const [w0, w1] = wall.map(median) as [number, number];
  console.log(
    `${label.padEnd(26)} cpu ${c0.toFixed(1).padStart(7)} ${c1.toFixed(1).padStart(7)} ${(c0 / c1).toFixed(2)}x` +
      ` | wall ${w0.toFixed(1).padStart(7)} ${w1.toFixed(1).padStart(7)} ${(w0 / w1).toFixed(2)}x  max|diff|/max|y| ${diff.toExponential(1)}`,
  );
  tf.dispose([x, f]);
}
