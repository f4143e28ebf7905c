/**
 * Times the wasm MaxPoolGrad kernel archc registers (kernels/maxPoolGrad.ts) on the two
 * pools of a mini_xception training step (batch 32, 3x3 stride 2 'same'): by its SIMD
 * routine, by its JS loop (what it does without SIMD), and tfjs-backend-wasm's own kernel
 * for reference; the median of 10 calls after 3 warm-up calls each (3 for wasm's own).
 *
 *   npx tsx bench/maxPoolGrad.ts        (or `npm run bench -- maxpool`)
 */
import * as tf from "@tensorflow/tfjs";
import { maxPoolGradReplacement } from "../compiler/backends/tfjs/kernels/maxPoolGrad.js";
import { replacedWasmKernel } from "../compiler/backends/tfjs/kernels/register.js";
import { initWasmBackend } from "../compiler/backends/tfjs/kernels/wasmInit.js";
import { median } from "./timing.js";

const SHAPES: [number, number, number, number][] = [
  [32, 28, 28, 64],
  [32, 14, 14, 128],
];
const WARMUP = 3;
const RUNS = 10;

/** Median milliseconds of `call`, which returns a tensor's data to free. */
function time(call: () => tf.TensorInfo, runs: number): number {
  const backend = tf.backend();
  for (let i = 0; i < WARMUP; i++) backend.disposeData(call().dataId);
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const out = call();
    ms.push(performance.now() - start);
    backend.disposeData(out.dataId);
  }
  return median(ms);
}

export async function runMaxPoolGradBench(): Promise<void> {
  const start = await initWasmBackend();
  await tf.setBackend("wasm");
  console.log(
    `wasm backend, ${start.threads} thread(s); MaxPoolGrad 3x3/2 'same', median of ${RUNS}`,
  );
  const attrs = { filterSize: 3, strides: 2, pad: "same" } as unknown as tf.NamedAttrMap;
  for (const shape of SHAPES) {
    const x = tf.randomUniform(shape, -1, 1, "float32", 1) as tf.Tensor4D;
    const y = tf.maxPool(x, 3, 2, "same");
    const dy = tf.randomUniform(y.shape, -1, 1, "float32", 2);
    const inputs = { dy, input: x, output: y };
    const ours = time(
      () => tf.engine().runKernel(tf.MaxPoolGrad, inputs, attrs) as tf.TensorInfo,
      RUNS,
    );
    const direct = (config: tf.KernelConfig, runs: number): number =>
      time(
        () =>
          config.kernelFunc({
            inputs: inputs as unknown as tf.NamedTensorInfoMap,
            backend: tf.backend(),
            attrs,
          }) as tf.TensorInfo,
        runs,
      );
    const theirs = replacedWasmKernel(tf.MaxPoolGrad);
    const jsLoop = theirs
      ? direct(
          maxPoolGradReplacement(theirs, () => undefined),
          RUNS,
        )
      : NaN;
    const own = theirs ? direct(theirs, 3) : NaN;
    console.log(
      `  [${shape.join(",")}]  SIMD ${ours.toFixed(2)} ms   JS loop ${jsLoop.toFixed(1)} ms   ` +
        `tfjs-backend-wasm's own ${own.toFixed(1)} ms`,
    );
    tf.dispose([x, y, dy]);
  }
}

// Run directly (tsx) as well as through bench/run.ts.
if (process.argv[1]?.endsWith("maxPoolGrad.ts")) await runMaxPoolGradBench();
