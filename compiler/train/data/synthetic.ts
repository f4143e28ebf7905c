import * as tf from "@tensorflow/tfjs";
import type { Batch, Dataset, EpochOptions } from "./dataset.js";
import { epochOrder, Random } from "./random.js";

/**
 * Deterministic, learnable images for tests and smoke runs: each class has its own pattern of
 * bright patches, plus noise. A few training steps lower the loss.
 */
export function syntheticDataset(o: {
  shape: readonly [number, number, number];
  classes: number;
  size: number;
  seed: number;
  /** Validation examples share the classes' patterns but not their noise. */
  offset?: number;
}): Dataset {
  const [h, w, c] = o.shape;
  const rng = new Random(o.seed ^ 0x5eed);
  const patterns = Array.from({ length: o.classes }, () =>
    Float32Array.from({ length: h * w * c }, () => (rng.float() < 0.3 ? 0.8 : 0.1)),
  );
  const labels = Array.from({ length: o.size }, (_, i) => i % o.classes);
  return {
    name: `synthetic:${o.size}`,
    size: o.size,
    classes: o.classes,
    shape: o.shape,
    async *batches(batchSize: number, e: EpochOptions): AsyncIterable<Batch> {
      const order = epochOrder(o.size, e.seed, e.epoch, e.shuffle);
      for (let i = 0; i < o.size; i += batchSize) {
        const idx = order.slice(i, i + batchSize);
        const x = new Float32Array(idx.length * h * w * c);
        idx.forEach((k, j) => {
          // Noise from the example's own index: the same example looks the same every epoch.
          const noise = new Random(o.seed * 31 + k + (o.offset ?? 0));
          const p = patterns[labels[k]!]!;
          for (let q = 0; q < p.length; q++)
            x[j * p.length + q] = Math.min(1, Math.max(0, p[q]! + (noise.float() - 0.5) * 0.4));
        });
        yield tf.tidy(() => ({
          x: tf.tensor4d(x, [idx.length, h, w, c]),
          y: tf
            .oneHot(
              tf.tensor1d(
                idx.map((k) => labels[k]!),
                "int32",
              ),
              o.classes,
            )
            .toFloat() as tf.Tensor2D,
        }));
      }
    },
  };
}
