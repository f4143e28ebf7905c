import * as tf from "@tensorflow/tfjs";

export interface ForwardTiming {
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
}

/**
 * Times forward passes on random input: `warmup` untimed passes (kernel set-up, strategy
 * calibration), then the median and spread of `runs`. Waits for the data, so the time is real.
 */
export async function timeForward(
  /** A model, or a forward pass (an inference program's predict). */
  model: tf.LayersModel | ((x: tf.Tensor) => tf.Tensor),
  inputShape: readonly number[],
  batch: number,
  runs: number,
  warmup: number,
  /** Called after each pass (warm-up ones included), for progress on long timings. */
  onPass?: (done: number, total: number) => void,
): Promise<ForwardTiming> {
  const x = tf.randomNormal([batch, ...inputShape]);
  const times: number[] = [];
  try {
    for (let i = 0; i < warmup + runs; i++) {
      const t0 = performance.now();
      const y = typeof model === "function" ? model(x) : (model.predict(x) as tf.Tensor);
      await y.data();
      const dt = performance.now() - t0;
      y.dispose();
      if (i >= warmup) times.push(dt);
      onPass?.(i + 1, warmup + runs);
    }
  } finally {
    x.dispose();
  }
  const sorted = [...times].sort((a, b) => a - b);
  const m = sorted.length >> 1;
  const r3 = (n: number) => Number(n.toFixed(3));
  return {
    medianMs: r3(sorted.length % 2 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2),
    minMs: r3(sorted[0]!),
    maxMs: r3(sorted[sorted.length - 1]!),
  };
}
