import {
  checkBatchSize,
  checkChannels,
  DataError,
  toBatch,
  type Batch,
  type Dataset,
  type EpochOptions,
} from "./dataset.js";
import { deriveSeed, epochOrder, Random } from "./random.js";

export interface SyntheticOptions {
  readonly shape: readonly [number, number, number];
  readonly classes: number;
  readonly size: number;
  readonly seed: number;
  /**
   * Which draw of examples: a validation split uses another stream than training, so it shares
   * the classes' patterns but not a single noisy example. Default 0.
   */
  readonly stream?: number;
  /** Noise amplitude (uniform, peak to peak). Default 0.3. */
  readonly noise?: number;
}

/**
 * Deterministic, learnable images for tests and smoke runs, needing no files. Each class has a
 * mean image: a brightness of its own (so even a network that pools everything away early can
 * tell classes apart) plus two soft blobs at class-specific places with a class-specific tint
 * (so convolutions have shapes to find). An example is its class's mean plus uniform noise. The
 * patterns come from `seed`; each example's noise from (seed, stream, index), so an example
 * looks the same in every epoch and batches can be made in any order.
 */
export function syntheticDataset(o: SyntheticOptions): Dataset {
  const shape: [number, number, number] = [...o.shape];
  checkChannels(shape);
  if (!Number.isInteger(o.classes) || o.classes < 1)
    throw new DataError(`synthetic data needs a positive number of classes, not ${o.classes}`);
  if (!Number.isInteger(o.size) || o.size < 1)
    throw new DataError(`synthetic data needs a positive number of examples, not ${o.size}`);
  const [h, w, c] = shape;
  const noise = o.noise ?? 0.3;
  const stream = o.stream ?? 0;
  const means = Array.from({ length: o.classes }, (_, k) => {
    const rng = new Random(deriveSeed(o.seed, 0x5eed, k));
    const base = 0.1 + (0.25 * k) / Math.max(1, o.classes - 1);
    const sigma = Math.max(1, 0.2 * Math.max(h, w));
    const blobs = [0, 1].map(() => ({ y: rng.float() * h, x: rng.float() * w }));
    const tint = Array.from({ length: c }, () => 0.4 + 0.6 * rng.float());
    const m = new Float32Array(h * w * c);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let b = 0;
        for (const p of blobs) b += Math.exp(-((y - p.y) ** 2 + (x - p.x) ** 2) / (2 * sigma ** 2));
        for (let ch = 0; ch < c; ch++) m[(y * w + x) * c + ch] = base + 0.6 * tint[ch]! * b;
      }
    return m;
  });
  // Balanced classes: example i is of class i mod classes.
  const label = (i: number) => i % o.classes;
  const px = h * w * c;
  return {
    name: `synthetic:${o.size}`,
    size: o.size,
    classes: o.classes,
    shape,
    origin: { kind: "synthetic", means, seed: o.seed, stream, noise },
    async *batches(batchSize: number, e: EpochOptions): AsyncIterable<Batch> {
      checkBatchSize(batchSize);
      const order = epochOrder(o.size, e.seed, e.epoch, e.shuffle);
      for (let i = 0; i < o.size; i += batchSize) {
        const idx = order.slice(i, i + batchSize);
        const x = new Float32Array(idx.length * px);
        idx.forEach((k, j) => {
          const rng = new Random(deriveSeed(o.seed, stream, k));
          const m = means[label(k)]!;
          for (let q = 0; q < px; q++)
            x[j * px + q] = Math.min(1, Math.max(0, m[q]! + (rng.float() - 0.5) * noise));
        });
        yield { ...toBatch(x, idx.map(label), shape, o.classes), samples: idx };
      }
    },
  };
}
