/**
 * Times the two compositions of Conv2DBackpropFilter on wasm (kernels/conv2dBackpropFilter.ts):
 * the correlation (x as the batch of channels, dy as the filter) and the patch path (a one-hot
 * depthwise conv, then one GEMM), per shape, and checks that they agree. The patch path's
 * threshold (PATCH_TAPS_MAX) is set from these figures.
 *
 *   npx tsx bench/convFilterGrad.ts [--reps N] [--threads N]
 */
import * as tf from "@tensorflow/tfjs";
import { geometryOf } from "../compiler/backends/tfjs/kernels/common.js";
import {
  correlationGradient,
  patchGradient,
  usePatches,
} from "../compiler/backends/tfjs/kernels/conv2dBackpropFilter.js";
import { initWasmBackend } from "../compiler/backends/tfjs/kernels/wasmInit.js";

interface Shape {
  label: string;
  x: [number, number, number, number];
  k: number;
  stride: number;
  pad: "same" | "valid";
  co: number;
}

const shapes: Shape[] = [
  { label: "Xception stem", x: [8, 299, 299, 3], k: 3, stride: 2, pad: "valid", co: 32 },
  { label: "mini stem", x: [32, 28, 28, 1], k: 3, stride: 1, pad: "same", co: 32 },
  { label: "3x3 4->32", x: [32, 28, 28, 4], k: 3, stride: 1, pad: "same", co: 32 },
  { label: "3x3 5->32", x: [32, 28, 28, 5], k: 3, stride: 1, pad: "same", co: 32 },
  { label: "3x3 6->32", x: [32, 28, 28, 6], k: 3, stride: 1, pad: "same", co: 32 },
  { label: "3x3/2 6->32", x: [32, 28, 28, 6], k: 3, stride: 2, pad: "same", co: 32 },
  { label: "3x3/2 8->32", x: [32, 28, 28, 8], k: 3, stride: 2, pad: "same", co: 32 },
  { label: "3x3 8->32", x: [32, 28, 28, 8], k: 3, stride: 1, pad: "same", co: 32 },
  { label: "3x3 16->32", x: [32, 28, 28, 16], k: 3, stride: 1, pad: "same", co: 32 },
  { label: "3x3 32->64", x: [32, 28, 28, 32], k: 3, stride: 1, pad: "same", co: 64 },
  { label: "Xception 3x3 32->64", x: [8, 149, 149, 32], k: 3, stride: 1, pad: "valid", co: 64 },
  { label: "1x1/2 16->32", x: [32, 28, 28, 16], k: 1, stride: 2, pad: "same", co: 32 },
  { label: "1x1/2 32->64", x: [32, 28, 28, 32], k: 1, stride: 2, pad: "same", co: 64 },
  { label: "1x1/2 64->128", x: [32, 28, 28, 64], k: 1, stride: 2, pad: "same", co: 128 },
  { label: "Xception 1x1/2 64->128", x: [8, 147, 147, 64], k: 1, stride: 2, pad: "same", co: 128 },
  { label: "Xception 1x1/2 128->256", x: [8, 74, 74, 128], k: 1, stride: 2, pad: "same", co: 256 },
  {
    label: "Xception 1x1/2 728->1024",
    x: [8, 19, 19, 728],
    k: 1,
    stride: 2,
    pad: "same",
    co: 1024,
  },
];

const repsFlag = process.argv.indexOf("--reps");
const reps = repsFlag > 0 ? Number(process.argv[repsFlag + 1]) : 5;
const threadsFlag = process.argv.indexOf("--threads");
const threads = threadsFlag > 0 ? Number(process.argv[threadsFlag + 1]) : undefined;

async function msPerCall(f: () => tf.Tensor): Promise<{ ms: number; out: Float32Array }> {
  const warm = f();
  const out = (await warm.data()) as Float32Array;
  warm.dispose();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    const t = f();
    await t.data();
    times.push(performance.now() - start);
    t.dispose();
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, out };
}

const started = await initWasmBackend({ threads });
await tf.setBackend("wasm");
console.log(`wasm, ${started.threads} thread(s), median of ${reps} calls after one warm-up`);
console.log(
  `${"shape".padEnd(24)} ${"ci*kh*kw".padStart(8)} ${"correlation".padStart(12)} ${"patches".padStart(9)}  taken   max|diff|`,
);
for (const s of shapes) {
  const filterShape: [number, number, number, number] = [s.k, s.k, s.x[3], s.co];
  const info = tf.backend_util.computeConv2DInfo(s.x, filterShape, s.stride, 1, s.pad);
  const g = geometryOf(info);
  const x = tf.randomUniform(s.x, -1, 1, "float32", 1) as tf.Tensor4D;
  const dy = tf.randomUniform(
    [s.x[0], info.outHeight, info.outWidth, s.co],
    -1,
    1,
    "float32",
    2,
  ) as tf.Tensor4D;
  const before = await msPerCall(() => tf.tidy(() => correlationGradient(x, dy, g, false)));
  const after = await msPerCall(() => tf.tidy(() => patchGradient(x, dy, g, s.co)));
  let diff = 0;
  for (let i = 0; i < before.out.length; i++) {
    const scale = Math.max(1, Math.abs(before.out[i]!));
    diff = Math.max(diff, Math.abs(before.out[i]! - after.out[i]!) / scale);
  }
  console.log(
    `${s.label.padEnd(24)} ${String(s.x[3] * s.k * s.k).padStart(8)} ${before.ms.toFixed(1).padStart(9)} ms ${after.ms.toFixed(1).padStart(6)} ms  ${(usePatches(g) ? "patch" : "corr").padEnd(6)}  ${diff.toExponential(1)}`,
  );
  tf.dispose([x, dy]);
}
