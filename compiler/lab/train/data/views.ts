import * as tf from "@tensorflow/tfjs";
import { sampleView, viewSample } from "../../data/augment.js";
import type { Batch, Dataset, EpochOptions } from "./dataset.js";

/**
 * A source that delivers its images at the network's input size, made to honour a view: each
 * row of a batch is cropped and resized back to h x w as the view says (augment.ts; runner.py's
 * Data does the same to the rows it reads). Packs crop the stored image instead
 * (shardDataset.ts), so that a random crop of a large photo keeps its detail.
 */
export function withViews(data: Dataset): Dataset {
  if (data.views) return data;
  const [h, w, c] = data.shape;
  const px = h * w * c;
  return {
    ...data,
    views: true,
    async *batches(batchSize: number, e: EpochOptions): AsyncIterable<Batch> {
      const { view: epochView, ...plain } = e;
      const view = epochView && sampleView(epochView, e.seed, e.epoch);
      for await (const b of data.batches(batchSize, plain)) {
        if (!view) {
          yield b;
          continue;
        }
        if (!b.samples)
          throw new Error(`${data.name}: a batch without its sample numbers cannot be cropped`);
        const src = (await b.x.data()) as Float32Array;
        const out = new Float32Array(src.length);
        b.samples.forEach((sample, j) =>
          out.set(
            viewSample(view, sample, src.subarray(j * px, (j + 1) * px), h, w, c, h, w),
            j * px,
          ),
        );
        const x = tf.tensor4d(out, b.x.shape);
        b.x.dispose();
        yield { x, y: b.y, samples: b.samples };
      }
    },
  };
}
