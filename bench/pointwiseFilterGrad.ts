/**
 * Times the pointwise (1x1, stride 1, NHWC) filter gradient dW = x^T dy on wasm three ways:
 * a transpose of x and a matMul (XNNPACK packs dy), a transpose of dy and a matMul (packs x,
 * then one more transpose), and the SIMD routine of kernels/pointwiseSimd.ts at a few pixel
 * blocks. Every call gets fresh tensors (tf.add(t, 0), untimed), as in a training step, where
 * XNNPACK re-packs its right operand; the variants are interleaved and the medians printed.
 * The rule in kernels/conv2dBackpropFilter.ts (useSimdPointwise) is set from these figures.
 *
 *   npx tsx bench/pointwiseFilterGrad.ts [--reps N] [--threads N] [--xception]
 */
import * as tf from "@tensorflow/tfjs";
import { initWasmBackend } from "../compiler/backends/tfjs/kernels/wasmInit.js";
import {
  pointwiseFor,
  pointwiseGradient,
} from "../compiler/backends/tfjs/kernels/pointwiseSimd.js";
import { median } from "./timing.js";

const mini: [number, number, number][] = [
  [25088, 32, 64],
  [25088, 64, 64],
  [6272, 64, 128],
  [6272, 128, 128],
  [1568, 128, 128],
  [1568, 128, 256],
];
const xception: [number, number, number][] = [
  [172872, 64, 128],
  [172872, 128, 128],
  [43808, 128, 256],
  [43808, 256, 256],
  [10952, 256, 728],
  [2888, 728, 728],
  [2888, 728, 1024],
  [800, 1024, 1536],
  [800, 1536, 2048],
];
const flag = (name: string): number | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : undefined;
};
const reps = flag("--reps") ?? 7;
// --simd 256:64,512 : pixel blocks, each with an optional co chunk.
const simdFlag = process.argv.indexOf("--simd");
const blocks = (simdFlag > 0 ? process.argv[simdFlag + 1]! : "256,512,1024").split(",");

const started = await initWasmBackend({ threads: flag("--threads") });
await tf.setBackend("wasm");
const backend = tf.backend();
const fns = pointwiseFor(backend);
if (!fns) throw new Error("the SIMD routine did not bind to this backend");
console.log(`wasm, ${started.threads} thread(s), median of ${reps} calls on fresh tensors`);
console.log(
  `${"m, ci, co".padEnd(20)} ${"packs dy".padStart(9)} ${"packs x".padStart(9)} ${blocks.map((b) => `simd/${b}`.padStart(10)).join(" ")}  max|diff|`,
);
// --only 2888x728x728,... : just these shapes.
const onlyFlag = process.argv.indexOf("--only");
const only = onlyFlag > 0 ? process.argv[onlyFlag + 1]!.split(",") : undefined;
const shapes = (process.argv.includes("--xception") || only ? [...mini, ...xception] : mini).filter(
  (s) => !only || only.includes(s.join("x")),
);
for (const [m, ci, co] of shapes) {
  const x = tf.randomUniform([m, ci], -1, 1, "float32", 1) as tf.Tensor2D;
  const dy = tf.randomUniform([m, co], -1, 1, "float32", 2) as tf.Tensor2D;
  const variants: ((a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor)[] = [
    (a, b) => tf.matMul(tf.transpose(a), b),
    (a, b) => tf.transpose(tf.matMul(tf.transpose(b), a)),
    ...blocks.map((spec) => (a: tf.Tensor2D, b: tf.Tensor2D) => {
      const [block, chunk] = spec.split(":").map(Number);
      const out = pointwiseGradient(backend, fns, a, b, [1, 1, ci, co], block, chunk);
      return tf.engine().makeTensorFromTensorInfo(out);
    }),
  ];
  const times = variants.map(() => [] as number[]);
  const outs: Float32Array[] = [];
  for (let rep = -1; rep < reps; rep++) {
    variants.forEach((f, v) => {
      const a = tf.add(x, 0) as tf.Tensor2D;
      const b = tf.add(dy, 0) as tf.Tensor2D;
      const start = performance.now();
      const t = tf.tidy(() => f(a, b));
      const data = t.dataSync() as Float32Array;
      if (rep >= 0) times[v]!.push(performance.now() - start);
      else outs.push(data.slice());
      tf.dispose([a, b, t]);
    });
  }
  let diff = 0;
  for (const out of outs.slice(1))
    for (let i = 0; i < out.length; i++) {
      diff = Math.max(diff, Math.abs(out[i]! - outs[0]![i]!) / Math.max(1, Math.abs(outs[0]![i]!)));
    }
  console.log(
    `${`${m}, ${ci}, ${co}`.padEnd(20)} ${times
      .map((t, v) =>
        median(t)
          .toFixed(1)
          .padStart(v < 2 ? 9 : 10),
      )
      .join(" ")}  ${diff.toExponential(1)}`,
  );
  tf.dispose([x, dy]);
}
