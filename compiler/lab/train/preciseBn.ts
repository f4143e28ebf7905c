import * as tf from "@tensorflow/tfjs";
import type { Dataset } from "./data/index.js";
import { deriveSeed } from "./data/random.js";
import type { View } from "../data/augment.js";

/** The stream of training examples recalibration reads, apart from the training order's. */
export const preciseBnStream = 0x626e;

interface BnInternals {
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

interface DropoutInternals {
  rate: number;
}

/**
 * Precise BN (pycls' compute_precise_bn_stats) for a tfjs model: forward passes in training mode
 * without gradients over `images` training examples, in the run's batch size, and each batch
 * norm's moving mean and variance set to the mean and variance of its input over all of them.
 * Batch norms normalise with batch statistics during the pass, so each sees the inputs it saw in
 * training; dropout is off, since evaluation runs without it. The examples are a seeded draw
 * that changes with the epoch, the same as the torch engine's.
 */
export async function recalibrateBatchNorm(
  model: tf.LayersModel,
  data: Dataset,
  /** view: the training augmentation, drawn with the recalibration's own order seed. */
  o: { batch: number; images: number; seed: number; epoch: number; view?: View },
): Promise<void> {
  const bns = model.layers.filter((l) => l.getClassName() === "BatchNormalization");
  if (bns.length === 0 || o.images <= 0) return;
  // The inputs of every batch norm, from one pass: a view over the same layers, owning nothing.
  const probe = tf.model({
    inputs: model.inputs,
    outputs: bns.map((l) => l.input as tf.SymbolicTensor),
  });
  const channels = bns.map((l) => (l.input as tf.SymbolicTensor).shape.at(-1)!);
  const sum = channels.map((c) => new Float64Array(c));
  const sumSq = channels.map((c) => new Float64Array(c));
  const dropouts = model.layers.filter(
    (l) => l.getClassName() === "Dropout",
  ) as unknown as DropoutInternals[];
  const rates = dropouts.map((d) => d.rate);
  for (const d of dropouts) d.rate = 0;
  let seen = 0;
  try {
    const order = {
      seed: deriveSeed(o.seed, preciseBnStream),
      epoch: o.epoch,
      shuffle: true,
      ...(o.view ? { view: o.view } : {}),
    };
    for await (const b of data.batches(o.batch, order)) {
      const n = b.x.shape[0];
      const moments = tf.tidy(() => {
        const outs = probe.apply(b.x, { training: true }) as tf.Tensor | tf.Tensor[];
        return (Array.isArray(outs) ? outs : [outs]).map((x) => {
          const axes = x.shape.slice(0, -1).map((_, i) => i);
          return [tf.mean(x, axes), tf.mean(tf.square(x), axes)] as const;
        });
      });
      for (let i = 0; i < moments.length; i++) {
        const [mean, meanSq] = moments[i]!;
        const [m, q] = [await mean.data(), await meanSq.data()];
        for (let c = 0; c < m.length; c++) {
          sum[i]![c]! += m[c]! * n;
          sumSq[i]![c]! += q[c]! * n;
        }
      }
      tf.dispose([...moments.flat(), b.x, b.y]);
      seen += n;
      if (seen >= o.images) break;
    }
  } finally {
    dropouts.forEach((d, i) => (d.rate = rates[i]!));
  }
  if (seen === 0) return;
  bns.forEach((layer, i) => {
    const bn = layer as unknown as BnInternals;
    const mean = Float32Array.from(sum[i]!, (s) => s / seen);
    const variance = Float32Array.from(sumSq[i]!, (q, c) => Math.max(q / seen - mean[c]! ** 2, 0));
    tf.tidy(() => {
      bn.movingMean.write(tf.tensor1d(mean));
      bn.movingVariance.write(tf.tensor1d(variance));
    });
  });
}
