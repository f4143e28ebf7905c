/**
 * Xception forward on the active tfjs backend: the model archc compiles from specs/xception.arch
 * against the same network written by hand with tf.layers. Median of interleaved runs, so both
 * see the same machine load.
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { buildModelFromIR } from "../compiler/backends/tfjs/model.js";
import { initBackend } from "../compiler/backends/tfjs/runtime.js";
import { compileSpec } from "../compiler/index.js";
import { packageRoot } from "../compiler/language/paths.js";
import { handWrittenXception } from "./xceptionHandWritten.js";
import { median } from "./timing.js";

async function time(m: tf.LayersModel, x: tf.Tensor): Promise<number> {
  const t0 = performance.now();
  const y = m.predict(x) as tf.Tensor;
  await y.data();
  y.dispose();
  return performance.now() - t0;
}

export async function runXceptionBench(runs = 7, batch = 1): Promise<void> {
  const backend = await initBackend((process.env["ARCHC_BACKEND"] as "wasm" | undefined) ?? "auto");
  const compiled = buildModelFromIR(compileSpec(join(packageRoot, "specs", "xception.arch")));
  const hand = handWrittenXception();
  if (compiled.countParams() !== hand.countParams()) {
    throw new Error(
      `parameter counts differ: compiled ${compiled.countParams()}, hand-written ${hand.countParams()}`,
    );
  }
  const x = tf.randomNormal([batch, 299, 299, 3]);
  for (let i = 0; i < 2; i++) {
    await time(compiled, x);
    await time(hand, x);
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    a.push(await time(compiled, x));
    b.push(await time(hand, x));
  }
  const ma = median(a);
  const mb = median(b);
  console.log(
    `backend: ${backend.label}; Xception 299x299, batch ${batch}, median of ${runs} interleaved runs`,
  );
  console.log("| model | median ms | images/s |");
  console.log("| --- | ---: | ---: |");
  console.log(
    `| compiled from specs/xception.arch | ${ma.toFixed(1)} | ${((batch * 1000) / ma).toFixed(2)} |`,
  );
  console.log(
    `| hand-written tf.layers | ${mb.toFixed(1)} | ${((batch * 1000) / mb).toFixed(2)} |`,
  );
  console.log(`ratio compiled / hand-written: ${(ma / mb).toFixed(3)} (goal <= 1.02)`);
  x.dispose();
}
