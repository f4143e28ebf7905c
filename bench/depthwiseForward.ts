/**
 * Times the wasm DepthwiseConv2dNative archc registers (kernels/depthwiseForward.ts) against
 * tfjs-backend-wasm's own, on one thread (backend and kernel pool), at the depthwise shapes of
 * Xception 299 (batch 1, 3x3/1 'same') and mini_xception (batch 32, 48x48 input). CPU time of
 * the process (so other processes' load counts less), calls of the two interleaved, median of
 * RUNS each after a warm-up.
 *
 *   npx tsx bench/depthwiseForward.ts        (or `npm run bench -- depthwise`)
 */
import * as tf from "@tensorflow/tfjs";
import { setKernelThreads } from "../compiler/backends/tfjs/kernels/pool.js";
import { replacedWasmKernel } from "../compiler/backends/tfjs/kernels/register.js";
import { initWasmBackend } from "../compiler/backends/tfjs/kernels/wasmInit.js";
import { median } from "./timing.js";

const SHAPES: [string, [number, number, number, number]][] = [
  ["xception entry", [1, 147, 147, 64]],
  ["xception entry", [1, 147, 147, 128]],
  ["xception entry", [1, 74, 74, 256]],
  ["xception entry", [1, 37, 37, 728]],
  ["xception middle", [1, 19, 19, 728]],
  ["xception exit", [1, 10, 10, 1024]],
  ["mini_xception", [32, 44, 44, 8]],
  ["mini_xception", [32, 22, 22, 32]],
  ["mini_xception", [32, 11, 11, 64]],
  ["mini_xception", [32, 6, 6, 128]],
];
const RUNS = Number(process.env["ARCHC_BENCH_RUNS"] ?? 31);

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export async function runDepthwiseForwardBench(): Promise<void> {
  await initWasmBackend({ threads: 1 });
  setKernelThreads(1);
  await tf.setBackend("wasm");
  const theirs = replacedWasmKernel(tf.DepthwiseConv2dNative);
  const ours = tf.getKernel(tf.DepthwiseConv2dNative, "wasm");
  if (!theirs || !ours) throw new Error("DepthwiseConv2dNative is not replaced on wasm");
  console.log(
    `DepthwiseConv2dNative 3x3/1 'same', 1 thread, CPU ms, median of ${RUNS} interleaved`,
  );
  const attrs = { strides: 1, pad: "same", dilations: 1 } as unknown as tf.NamedAttrMap;
  for (const [label, shape] of SHAPES) {
    const x = tf.randomUniform(shape, -1, 1, "float32", 1);
    const filter = tf.randomUniform([3, 3, shape[3], 1], -1, 1, "float32", 2);
    const inputs = { x, filter } as unknown as tf.NamedTensorInfoMap;
    const backend = tf.backend();
    const once = (config: tf.KernelConfig): number => {
      const start = cpuMs();
      const out = config.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
      const ms = cpuMs() - start;
      backend.disposeData(out.dataId);
      return ms;
    };
    once(ours);
    once(theirs);
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      a.push(once(ours));
      b.push(once(theirs));
    }
    const macs = shape.reduce((p, q) => p * q, 9);
    const [mine, own] = [median(a), median(b)];
    console.log(
      `  ${label.padEnd(16)} [${shape.join(",")}]  archc ${mine.toFixed(2)} ms ` +
        `(${(macs / mine / 1e6).toFixed(2)} GMAC/s)   tfjs-backend-wasm ${own.toFixed(2)} ms ` +
        `(${(macs / own / 1e6).toFixed(2)} GMAC/s)   ratio ${(mine / own).toFixed(2)}`,
    );
    tf.dispose([x, filter]);
  }
}

// Run directly (tsx) as well as through bench/run.ts.
if (process.argv[1]?.endsWith("depthwiseForward.ts")) await runDepthwiseForwardBench();
