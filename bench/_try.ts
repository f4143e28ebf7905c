import * as tf from "@tensorflow/tfjs";
import { initWasmBackend } from "../compiler/backends/tfjs/kernels/wasmInit.js";
import {
  STRATEGIES,
  STRATEGY_NAMES,
  applicableStrategies,
} from "../compiler/backends/tfjs/grouped/strategies.js";
import { convShapeOf, normalizeOptions } from "../compiler/backends/tfjs/grouped/geometry.js";

const backend = process.argv[2] ?? "wasm";
if (backend === "wasm") await initWasmBackend();
else await tf.setBackend(backend);
console.log(tf.getBackend());
const groupsList = (process.argv[3] ?? "1,2,4,7,8,14,28,56,91,182,364,728").split(",").map(Number);
const C = 728,
  N = 8,
  H = 19;
const x = tf.randomNormal([N, H, H, C]) as tf.Tensor4D;
for (const g of groupsList) {
  const kernel = tf.randomNormal([3, 3, C / g, C]) as tf.Tensor4D;
  const opts = { groups: g, padding: "same" as const };
  const shape = convShapeOf(x.shape, kernel.shape, normalizeOptions(opts));
  const row: string[] = [];
  for (const name of STRATEGY_NAMES) {
    if (!applicableStrategies(shape).includes(name)) {
      row.push(`${name}=-`);
      continue;
    }
    if (
      (name === "split" && g > 100) ||
      (name === "blockdiag" && g > 8) ||
      name === "taps" ||
      name === "im2col"
    ) {
      row.push(`${name}=skip`);
      continue;
    }
    const times: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      const y = STRATEGIES[name](x, kernel, opts);
      y.dataSync();
      times.push(performance.now() - t0);
      y.dispose();
    }
    times.sort((a, b) => a - b);
    row.push(`${name}=${times[1]!.toFixed(1)}`);
  }
  kernel.dispose();
  console.log(`g=${g}`, row.join(" "), "mem", tf.memory().numTensors);
}
