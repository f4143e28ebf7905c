import * as tf from "@tensorflow/tfjs";
import { STRATEGIES, STRATEGY_NAMES } from "../compiler/backends/tfjs/grouped/strategies.js";
await tf.setBackend("cpu");
function ref(
  x: tf.Tensor4D,
  k: tf.Tensor4D,
  g: number,
  s: number,
  pad: "same" | "valid",
  d: number,
) {
  const [kh, kw, gi, O] = k.shape;
  const C = gi * g;
  const go = O / g;
  const kd = k.arraySync();
  const dense = new Float32Array(kh * kw * C * O);
  for (let a = 0; a < kh; a++)
    for (let b = 0; b < kw; b++)
      for (let i = 0; i < gi; i++)
        for (let o = 0; o < O; o++) {
          const grp = Math.floor(o / go);
          const c = grp * gi + i;
          dense[((a * kw + b) * C + c) * O + o] = kd[a]![b]![i]![o]!;
        }
  return tf.conv2d(x, tf.tensor4d(dense, [kh, kw, C, O]), s, pad, "NHWC", d);
}
const C = 8;
for (const O of [8, 16])
  for (const g of [1, 2, 4, 8])
    for (const [s, d, pad] of [
      [1, 1, "same"],
      [2, 1, "same"],
      [1, 2, "same"],
      [2, 1, "valid"],
      [1, 2, "valid"],
    ] as const) {
      const x = tf.randomNormal([2, 9, 9, C]) as tf.Tensor4D;
      const k = tf.randomNormal([3, 3, C / g, O]) as tf.Tensor4D;
      const r = ref(x, k, g, s, pad, d);
      const errs = STRATEGY_NAMES.map((n) => {
        const y = STRATEGIES[n](x, k, { groups: g, strides: s, dilationRate: d, padding: pad });
        if (y.shape.join() !== r.shape.join()) return n + ":shape " + y.shape;
        return (
          n +
          ":" +
          tf
            .max(tf.abs(tf.sub(y, r)))
            .dataSync()[0]!
            .toExponential(1)
        );
      });
      console.log(O, g, s, d, pad, errs.join(" "));
    }
