/**
 * Training-step time on the embedded wasm backend (with archc's gradient kernels) against the
 * pure-JS cpu backend: mini_xception at batch 32 on Fashion-MNIST-sized input, and Xception at
 * 299x299, batch 8. One warm-up step, then the median of a few.
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { buildModelFromIR } from "../compiler/backends/tfjs/model.js";
import { initBackend } from "../compiler/backends/tfjs/runtime.js";
import type { BackendChoice } from "../compiler/backends/tfjs/choices.js";
import { compileSpec } from "../compiler/index.js";
import { packageRoot } from "../compiler/language/paths.js";

async function stepTimes(
  file: string,
  args: Record<string, string | number>,
  batch: number,
  steps: number,
): Promise<number[]> {
  const graph = compileSpec(join(packageRoot, "specs", file), { args });
  const model = buildModelFromIR(graph);
  const opt = tf.train.momentum(0.01, 0.9);
  const classes = graph.nodes[graph.output]!.shape[0]!;
  const x = tf.randomUniform([batch, ...graph.input]);
  const y = tf.oneHot(tf.randomUniform([batch], 0, classes, "int32"), classes);
  const times: number[] = [];
  for (let i = 0; i < steps + 1; i++) {
    const t0 = performance.now();
    const loss = opt.minimize(
      () =>
        tf.losses.softmaxCrossEntropy(
          y,
          model.apply(x, { training: true }) as tf.Tensor,
        ) as tf.Scalar,
      true,
    );
    await loss!.data();
    loss!.dispose();
    if (i > 0) times.push(performance.now() - t0);
  }
  tf.dispose([x, y]);
  model.dispose();
  opt.dispose();
  return times.sort((a, b) => a - b);
}

export async function runTrainBench(): Promise<void> {
  const cases = [
    {
      name: "mini_xception 28x28x1, batch 32",
      file: "mini_xception.arch",
      args: {},
      batch: 32,
      steps: 3,
    },
    { name: "Xception 299x299x3, batch 8", file: "xception.arch", args: {}, batch: 8, steps: 1 },
  ];
  const backends: BackendChoice[] = (process.env["ARCHC_BENCH_BACKENDS"]?.split(",") as
    BackendChoice[] | undefined) ?? ["wasm", "cpu"];
  console.log("| network | backend | ms per step (median) | images/s |");
  console.log("| --- | --- | ---: | ---: |");
  for (const c of cases) {
    for (const b of backends) {
      if (b === "cpu" && c.file === "xception.arch" && !process.env["ARCHC_BENCH_SLOW"]) {
        console.log(
          `| ${c.name} | cpu | (not run: minutes per step; ARCHC_BENCH_SLOW=1 runs it) | |`,
        );
        continue;
      }
      await initBackend(b);
      // Xception on the pure-JS backend takes minutes a step; one step is measured there.
      const t = await stepTimes(c.file, c.args, c.batch, b === "cpu" ? 1 : c.steps);
      const med = t[t.length >> 1]!;
      console.log(
        `| ${c.name} | ${b} | ${med.toFixed(0)} | ${((c.batch * 1000) / med).toFixed(1)} |`,
      );
    }
  }
}
