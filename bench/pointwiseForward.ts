/**
 * Times the wasm Conv2D archc registers for 1x1 stride-1 convolutions (kernels/
 * pointwiseForward.ts: groupedSimd's relaxed_madd tiles) against tfjs-backend-wasm's own
 * (XNNPACK), through tf.conv2d and tf.fused.conv2d (bias + ReLU), at Xception's and
 * mini_xception's pointwise shapes. Both sides are the same call; ARCHC_POINTWISE_GEMM=0, set
 * and unset between calls in this one process, hands it to XNNPACK. Calls alternate, the side
 * that goes first swapping each round; process CPU time (every thread's), median of RUNS.
 *
 *   ARCHC_THREADS=1 npm run bench -- pointwise    (ARCHC_BENCH_RUNS=N, default 9;
 *   ARCHC_BENCH_SHAPES='[[32, 7, 128, 256]]': [batch, height = width, ci, co] instead)
 */
import * as tf from "@tensorflow/tfjs";
import os from "node:os";
import { initWasmBackend } from "../compiler/backends/tfjs/kernels/wasmInit.js";
import { median } from "./timing.js";

/** [batch, height = width, ci, co]. */
const SHAPES: [string, [number, number, number, number]][] = [
  ["mini_xception-like", [32, 28, 64, 128]],
  ["mini_xception-like", [32, 14, 128, 256]],
  ["xception middle", [1, 19, 728, 728]],
  ["xception middle, batch 8", [8, 19, 728, 728]],
  ["xception exit", [1, 10, 1024, 1536]],
  ["xception exit", [1, 10, 1536, 2048]],
  ["xception entry, batch 8", [8, 147, 64, 128]],
];
/** ARCHC_BENCH_SHAPES='[[32,7,128,256],...]' times these instead. */
const shapes = (): [string, [number, number, number, number]][] => {
  const given = process.env["ARCHC_BENCH_SHAPES"];
  if (!given) return SHAPES;
  return (JSON.parse(given) as [number, number, number, number][]).map((s) => ["given", s]);
};
const RUNS = Number(process.env["ARCHC_BENCH_RUNS"] ?? 9);
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");

export async function runPointwiseForwardBench(): Promise<void> {
  const threads = Number(process.env["ARCHC_THREADS"] ?? 1);
  await initWasmBackend({ threads });
  console.log(`1x1 conv: archc's tiles vs XNNPACK, ${threads} thread(s), load average ${load()}`);
  console.log("| shape | call | XNNPACK CPU ms | archc CPU ms | ratio |");
  console.log("| --- | --- | ---: | ---: | ---: |");
  for (const [name, [n, hw, ci, co]] of shapes()) {
    const x = tf.randomNormal([n, hw, hw, ci], 0, 1, "float32", 1) as tf.Tensor4D;
    const w = tf.randomNormal([1, 1, ci, co], 0, 1, "float32", 2) as tf.Tensor4D;
    const b = tf.randomNormal([co], 0, 1, "float32", 3) as tf.Tensor1D;
    const calls: [string, () => tf.Tensor][] = [
      ["conv2d", () => tf.conv2d(x, w, 1, "same")],
      [
        "fused, bias + relu",
        () =>
          tf.fused.conv2d({ x, filter: w, strides: 1, pad: "same", bias: b, activation: "relu" }),
      ],
    ];
    for (const [label, f] of calls) {
      const timed = (ours: boolean): number => {
        if (ours) delete process.env["ARCHC_POINTWISE_GEMM"];
        else process.env["ARCHC_POINTWISE_GEMM"] = "0";
        const c0 = process.cpuUsage();
        const y = f();
        y.dataSync();
        const used = process.cpuUsage(c0);
        y.dispose();
        return (used.user + used.system) / 1000;
      };
      timed(false);
      timed(true);
      const ms: [number[], number[]] = [[], []];
      for (let r = 0; r < RUNS; r++)
        for (const ours of r % 2 ? [true, false] : [false, true]) ms[+ours]!.push(timed(ours));
      const [theirs, ours] = [median(ms[0]), median(ms[1])];
      console.log(
        `| ${name} ${n}x${hw}x${hw} ${ci} -> ${co} | ${label} | ${theirs.toFixed(1)} | ${ours.toFixed(1)} | ${(ours / theirs).toFixed(2)} |`,
      );
    }
    tf.dispose([x, w, b]);
  }
  delete process.env["ARCHC_POINTWISE_GEMM"];
  console.log(`load average after: ${load()}`);
}
