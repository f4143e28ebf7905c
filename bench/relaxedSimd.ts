/**
 * Relaxed SIMD's fused multiply-add against mul + add in archc's own tiles, one thread,
 * process CPU time per call. A module is built once per process, so the two sides are
 * child processes (ARCHC_RELAXED_SIMD=1 and 0) taking turns, pair after pair, so a busy
 * machine's load falls on both alike. The depthwise gradients, which keep mul + add either way,
 * are the control.
 *
 *   ARCHC_BENCH_ROUNDS=N npm run bench -- fma   (pairs, default 5; 7 calls a kernel a child)
 */
import * as tf from "@tensorflow/tfjs";
import { spawnSync } from "node:child_process";
import os from "node:os";
import { fileURLToPath } from "node:url";

const CALLS = 7;

type Timings = { relaxed: boolean; ms: Record<string, number> };

/** The child: each kernel's median CPU ms per call, as one JSON line. */
async function child(): Promise<void> {
  const { initWasmBackend } = await import("../compiler/backends/tfjs/kernels/wasmInit.js");
  const { relaxedSimd } = await import("../compiler/backends/tfjs/kernels/simd.js");
  const grouped = await import("../compiler/backends/tfjs/kernels/groupedConv.js");
  await initWasmBackend({ threads: 1 });
  const rnd = (s: number[]) => tf.randomNormal(s, 0, 1, "float32", 1);
  const run = (kernel: string, inputs: object, attrs: object) => () =>
    tf
      .engine()
      .runKernel(kernel, inputs as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor;
  const [b, hw, c, groups] = [32, 14, 128, 8];
  const g = { strides: 1, pad: "same" as const, dilations: 1, groups };
  const [x, k, dy] = [rnd([b, hw, hw, c]), rnd([3, 3, c / groups, c]), rnd([b, hw, hw, c])];
  const [px, pdy] = [rnd([32, 28, 28, 64]), rnd([32, 28, 28, 128])];
  const [dx, ddy, dw] = [rnd([32, 28, 28, 128]), rnd([32, 28, 28, 128]), rnd([3, 3, 128, 1])];
  const same = { strides: 1, pad: "same", dilations: 1 };
  const cases: [string, () => tf.Tensor][] = [
    [
      "grouped forward, 32x14x14x128, 8 groups",
      () => grouped.groupedConv2dNative(x as tf.Tensor4D, k as tf.Tensor4D, g),
    ],
    [
      "grouped input gradient, same",
      run(grouped.GroupedConv2DBackpropInput, { dy, filter: k }, { ...g, inputShape: x.shape }),
    ],
    [
      "grouped filter gradient, same",
      run(grouped.GroupedConv2DBackpropFilter, { x, dy }, { ...g, filterShape: k.shape }),
    ],
    [
      "pointwise filter gradient, 32x28x28, 64 -> 128",
      run(
        tf.Conv2DBackpropFilter,
        { x: px, dy: pdy },
        { strides: 1, pad: "same", dataFormat: "NHWC", filterShape: [1, 1, 64, 128] },
      ),
    ],
    [
      "depthwise filter gradient, 32x28x28x128 (control)",
      run(
        tf.DepthwiseConv2dNativeBackpropFilter,
        { x: dx, dy: ddy },
        { ...same, filterShape: [3, 3, 128, 1] },
      ),
    ],
    [
      "depthwise input gradient, same (control)",
      run(
        tf.DepthwiseConv2dNativeBackpropInput,
        { dy: ddy, filter: dw },
        { ...same, inputShape: [32, 28, 28, 128] },
      ),
    ],
  ];
  const ms: Record<string, number> = {};
  for (const [name, f] of cases) {
    f().dispose(); // warm-up: modules, heap
    const cpu: number[] = [];
    for (let r = 0; r < CALLS; r++) {
      const c0 = process.cpuUsage();
      const t = f();
      t.dataSync();
      const used = process.cpuUsage(c0);
      cpu.push((used.user + used.system) / 1000);
      t.dispose();
    }
    ms[name] = cpu.sort((p, q) => p - q)[CALLS >> 1]!;
  }
  console.log(JSON.stringify({ relaxed: relaxedSimd(), ms } satisfies Timings));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");

export async function runRelaxedSimdBench(): Promise<void> {
  const pairs = Number(process.env["ARCHC_BENCH_ROUNDS"] ?? 5);
  const self = fileURLToPath(import.meta.url);
  console.log(
    `relaxed_madd vs mul + add, ${pairs} pairs of child processes; load average ${load()}`,
  );
  const runs: Timings[] = [];
  for (let p = 0; p < pairs; p++)
    for (const relaxed of p % 2 ? ["0", "1"] : ["1", "0"]) {
      const r = spawnSync(process.execPath, [self, "--child"], {
        encoding: "utf8",
        env: { ...process.env, ARCHC_RELAXED_SIMD: relaxed },
      });
      const line = r.stdout.trim().split("\n").pop() ?? "";
      if (r.status !== 0 || !line.startsWith("{"))
        throw new Error(`fma bench child failed (${r.status}): ${r.stderr}`);
      runs.push(JSON.parse(line) as Timings);
    }
  const fused = runs.filter((r) => r.relaxed);
  const plain = runs.filter((r) => !r.relaxed);
  if (fused.length === 0) {
    console.log("this engine has no relaxed SIMD: nothing to compare");
    return;
  }
  console.log("| kernel | fused CPU ms | mul + add CPU ms | ratio | pairs below 1 |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const name of Object.keys(fused[0]!.ms)) {
    const [f, m] = [fused.map((r) => r.ms[name]!), plain.map((r) => r.ms[name]!)];
    const below = f.filter((v, i) => v < m[i]!).length;
    console.log(
      `| ${name} | ${median(f).toFixed(1)} | ${median(m).toFixed(1)} | ${(median(f) / median(m)).toFixed(2)} | ${below} / ${f.length} |`,
    );
  }
  console.log(`load average after: ${load()}`);
}

if (process.argv.includes("--child")) await child();
