import * as tf from "@tensorflow/tfjs";
import { makeFolder } from "../../util/files.js";
import type { TrainConfig } from "../../language/config/train.js";
import { checkpointedVariableGrads } from "../../backends/tfjs/checkpoint.js";
import { frugalVariableGrads } from "../../backends/tfjs/gradients.js";
import { runPaths } from "../run/paths.js";
import {
  hasCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
  type CheckpointState,
} from "./checkpoint.js";
import { writeMetrics, type EpochMetrics, type StepReport } from "./metrics.js";
import type { Dataset } from "./data/index.js";
import { Random } from "./data/random.js";
import { makeOptimizer, setLearningRate } from "./optimizer.js";
import { learningRate } from "./schedule.js";
import { recalibrateBatchNorm } from "./preciseBn.js";
import { configViews, type View } from "../data/augment.js";

export type { EpochMetrics, StepReport } from "./metrics.js";

export interface TrainOptions {
  readonly model: tf.LayersModel;
  readonly config: TrainConfig;
  readonly train: Dataset;
  readonly val?: Dataset;
  readonly epochs: number;
  readonly batch: number;
  readonly outDir: string;
  readonly resume: boolean;
  readonly seed: number;
  /** Whether the model ends in softmax (probabilities) rather than logits. */
  readonly probabilities: boolean;
  /** The run's identity key: written into checkpoints, and required of the one resumed. */
  readonly key?: string;
  /** A checkpoint also every N steps (0: off) and every M minutes (0: off), besides epoch ends. */
  readonly checkpointSteps?: number;
  readonly checkpointMinutes?: number;
  /** Stop when validation loss has not improved for this many epochs (Keras' EarlyStopping). */
  readonly patience?: number;
  /**
   * Gradient checkpointing: keep only segment boundaries from the forward pass and recompute
   * segments in the backward one, as many as `memoryBudget` requires (at most about a third
   * more time; for networks whose training step would not fit, see trainingNeedsCheckpoints).
   */
  readonly checkpointActivations?: boolean;
  /** Bytes a checkpointed step may use (default: memoryBudget() at each step). */
  readonly memoryBudget?: number;
  /**
   * Precise BN: at each epoch's end, before evaluating and saving, the batch norms' moving
   * statistics are recomputed on this many training images (0 or absent: off; see preciseBn.ts).
   */
  readonly preciseBnImages?: number;
  readonly onStep?: (r: StepReport) => void;
  readonly onEpoch?: (m: EpochMetrics) => void;
  /**
   * Polled after each batch, after the event loop has had its turn (so a signal handler has
   * run); true stops training after writing a checkpoint of the exact position (Ctrl-C).
   */
  readonly shouldStop?: () => boolean;
}

export interface TrainResult {
  /** Every finished epoch of the run, those before a resume included. */
  readonly history: readonly EpochMetrics[];
  readonly interrupted: boolean;
  /** Where training started: 0, or the checkpoint's epoch when resuming. */
  readonly startEpoch: number;
  /** The epoch with the lowest validation loss, saved as best.bin. */
  readonly best?: {
    readonly epoch: number;
    readonly valLoss: number;
    readonly valAccuracy: number;
  };
  readonly stoppedEarly: boolean;
  /** Where an interrupted run's checkpoint stands: epoch and batch (1-based), and global step. */
  readonly stoppedAt?: StopPoint;
}

export interface StopPoint {
  readonly epoch: number;
  readonly batch: number;
  readonly batches: number;
  readonly step: number;
}

const eps = 1e-7;

function crossEntropy(
  y: tf.Tensor,
  out: tf.Tensor,
  probabilities: boolean,
  smoothing: number,
): tf.Scalar {
  const classes = y.shape[1]!;
  const target = smoothing > 0 ? tf.add(tf.mul(y, 1 - smoothing), smoothing / classes) : y;
  if (!probabilities) return tf.losses.softmaxCrossEntropy(target, out) as tf.Scalar;
  // As Keras does for softmax outputs: clip, then -sum(y log p), averaged over the batch.
  return tf.neg(
    tf.mean(tf.sum(tf.mul(target, tf.log(tf.clipByValue(out, eps, 1 - eps))), -1)),
  ) as tf.Scalar;
}

function accuracy(y: tf.Tensor, out: tf.Tensor): tf.Scalar {
  return tf.mean(tf.cast(tf.equal(tf.argMax(y, -1), tf.argMax(out, -1)), "float32"));
}

/** The weights L2 weight decay applies to: the kernels, as Keras' kernel_regularizer. */
function decayed(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights
    .filter((w) => /kernel$/.test(w.originalName))
    .map((w) => w.read() as tf.Variable);
}

/** L2 weight decay's term of the loss, rate * sum(w^2) over `kernels` (Keras' l2(rate)). */
export function decayLoss(kernels: readonly tf.Tensor[], rate: number): tf.Scalar | undefined {
  if (rate === 0 || kernels.length === 0) return undefined;
  return tf.mul(rate, tf.addN(kernels.map((w) => tf.sum(tf.square(w))))) as tf.Scalar;
}

/**
 * The gradients with weight decay's added in closed form: 2 rate w for each kernel w, in place
 * of differentiating decayLoss through the tape (square, sum, addN and their gradients, about
 * seven kernel calls a kernel). The tape computed rate * (w * 2) and added it to the kernel's
 * other gradient; w * (2 rate) is the same product (2 w and 2 rate are exact in float32) and the
 * sum the same add, so the numbers are the same bits.
 */
export function withDecayGradients(
  grads: tf.NamedTensorMap,
  kernels: readonly tf.Variable[],
  rate: number,
): tf.NamedTensorMap {
  if (rate === 0) return grads;
  const twice = 2 * Math.fround(rate);
  const out = { ...grads };
  for (const w of kernels) {
    const g = grads[w.name];
    if (!g) continue;
    out[w.name] = tf.tidy(() => tf.add(tf.mul(w, twice), g));
    g.dispose();
  }
  return out;
}

/** Mean loss and accuracy of the model on every example of `data`, in inference mode. */
export async function evaluate(
  model: tf.LayersModel,
  data: Dataset,
  batch: number,
  probabilities: boolean,
  /** The config's eval_crop as a view (absent: the images as they are). */
  view?: View,
): Promise<{ loss: number; accuracy: number }> {
  let loss = 0;
  let correct = 0;
  let n = 0;
  const order = { seed: 0, epoch: 0, shuffle: false, ...(view ? { view } : {}) };
  for await (const b of data.batches(batch, order)) {
    const [l, a] = tf.tidy(() => {
      const out = model.apply(b.x, { training: false }) as tf.Tensor;
      return [crossEntropy(b.y, out, probabilities, 0), accuracy(b.y, out)];
    });
    const k = b.x.shape[0];
    loss += (await l.data())[0]! * k;
    correct += (await a.data())[0]! * k;
    n += k;
    tf.dispose([l, a, b.x, b.y]);
  }
  return { loss: loss / Math.max(n, 1), accuracy: correct / Math.max(n, 1) };
}

/**
 * Trains with a loop of its own rather than model.fit, so that a checkpoint holds everything
 * that decides what comes next — weights, optimizer slots, position in the epoch and the random
 * state for shuffling and dropout — and a resumed run continues as if never stopped.
 */
export async function train(o: TrainOptions): Promise<TrainResult> {
  makeFolder(o.outDir);
  const paths = runPaths(o.outDir);
  const { model, config } = o;
  const optimizer = makeOptimizer(config.optimizer);
  const rng = new Random(o.seed);
  let state: CheckpointState = {
    epoch: 0,
    batch: 0,
    step: 0,
    samples: 0,
    rng: rng.getState(),
    network: model.name,
    params: model.countParams(),
    history: [],
  };
  if (o.resume && hasCheckpoint(o.outDir)) {
    try {
      state = await loadCheckpoint(o.outDir, model, optimizer, o.key);
    } catch (e) {
      optimizer.dispose();
      throw e;
    }
    rng.setState([...state.rng]);
  }
  const startEpoch = state.epoch;
  // The checkpoint is the record: metrics written after it (a kill in between) are dropped.
  writeMetrics(o.outDir, state.history ?? []);
  // Stochastic depth draws like dropout: a fresh seed per step from the run's random state.
  const dropouts = model.layers.filter(
    (l) => l.getClassName() === "Dropout" || l.getClassName() === "DropPath",
  ) as unknown as {
    seed?: number;
  }[];
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const kernels = decayed(model);
  const batches = Math.ceil(o.train.size / o.batch);
  // The augmentation (seeded by seed, epoch and sample: a resumed epoch crops as it would have).
  const views = configViews(config);
  let interrupted = false;
  const save = () => saveCheckpoint(paths.checkpoint, model, optimizer, state, o.key);
  let lastSave = { step: state.step, at: performance.now() };

  for (let epoch = state.epoch; epoch < o.epochs && !interrupted && !state.stoppedEarly; epoch++) {
    const resumed = epoch === state.epoch ? state.partial : undefined;
    const t0 = performance.now() - (resumed?.seconds ?? 0) * 1000;
    let lossSum = resumed?.lossSum ?? 0;
    let accSum = resumed?.accSum ?? 0;
    let seen = resumed?.seen ?? 0;
    // Time from asking the data for a batch to having it: the step waits only while this grows.
    let dataWait = resumed?.dataWait ?? 0;
    let asked = performance.now();
    const skip = epoch === state.epoch ? state.batch : 0;
    // The epoch's order depends only on the seed and the epoch, so a resumed run can skip ahead;
    // a source that seeks does not even read the batches it passes over.
    const from = o.train.seeks ? skip : 0;
    let index = from;
    const order = {
      seed: o.seed,
      epoch,
      shuffle: true,
      from,
      // Nothing to decode ahead for after the last epoch.
      final: epoch === o.epochs - 1,
      ...(views.train ? { view: views.train } : {}),
    };
    for await (const b of o.train.batches(o.batch, order)) {
      if (index++ < skip) {
        tf.dispose([b.x, b.y]);
        continue;
      }
      const stepStart = performance.now();
      dataWait += stepStart - asked;
      const lr = learningRate(config.optimizer.lr, config.schedule, {
        epochs: epoch,
        samples: state.samples,
        steps: state.step,
      });
      setLearningRate(optimizer, lr);
      for (const d of dropouts) d.seed = rng.int();
      let acc: tf.Scalar | undefined;
      // Weight decay's term is added to the loss outside the tape and its gradient in closed
      // form (withDecayGradients): the weights it reads are those of this step either way.
      const wd = tf.tidy(() => decayLoss(kernels, config.weightDecay));
      const lossOf = (out: tf.Tensor): tf.Scalar => {
        acc = tf.keep(accuracy(b.y, out));
        return crossEntropy(b.y, out, o.probabilities, config.labelSmoothing);
      };
      // tfjs' variableGrads with the backward pass's memory freed as it goes (same gradients).
      const taped = o.checkpointActivations
        ? checkpointedVariableGrads(model, b.x, lossOf, vars, {
            ...(o.memoryBudget !== undefined ? { budget: o.memoryBudget } : {}),
          })
        : frugalVariableGrads(
            () => lossOf(model.apply(b.x, { training: true }) as tf.Tensor),
            vars,
          );
      const value = wd ? tf.add(taped.value, wd) : taped.value;
      const grads = withDecayGradients(taped.grads, kernels, config.weightDecay);
      if (wd) tf.dispose([wd, taped.value]);
      optimizer.applyGradients(grads);
      const k = b.x.shape[0];
      const loss = (await value.data())[0]!;
      const a = (await acc!.data())[0]!;
      tf.dispose([value, acc!, b.x, b.y, ...Object.values(grads)]);
      if (!Number.isFinite(loss))
        throw new Error(
          `the loss became ${loss} at epoch ${epoch + 1}, batch ${index}: lower the learning rate`,
        );
      lossSum += loss * k;
      accSum += a * k;
      seen += k;
      state = {
        ...state,
        epoch,
        batch: index,
        step: state.step + 1,
        samples: state.samples + k,
        rng: rng.getState(),
        partial: {
          lossSum,
          accSum,
          seen,
          seconds: (performance.now() - t0) / 1000,
          dataWait,
        },
      };
      o.onStep?.({
        epoch,
        batch: index,
        batches,
        epochs: o.epochs,
        step: state.step,
        loss: lossSum / seen,
        accuracy: accSum / seen,
        imagesPerSec: (k * 1000) / (performance.now() - stepStart),
      });
      // Let the event loop turn: signal handlers (Ctrl-C) and progress output run here.
      await new Promise((resolve) => setImmediate(resolve));
      if (o.shouldStop?.()) {
        interrupted = true;
        break;
      }
      const steps = o.checkpointSteps ?? 0;
      const minutes = o.checkpointMinutes ?? 0;
      if (
        (steps > 0 && state.step - lastSave.step >= steps) ||
        (minutes > 0 && performance.now() - lastSave.at >= minutes * 60_000)
      ) {
        await save();
        lastSave = { step: state.step, at: performance.now() };
      }
      asked = performance.now();
    }
    if (interrupted) {
      await save();
      break;
    }
    const seconds = (performance.now() - t0) / 1000;
    if (o.preciseBnImages)
      await recalibrateBatchNorm(model, o.train, {
        batch: o.batch,
        images: o.preciseBnImages,
        seed: o.seed,
        epoch,
        ...(views.train ? { view: views.train } : {}),
      });
    const val = o.val
      ? await evaluate(model, o.val, o.batch, o.probabilities, views.eval)
      : undefined;
    const metrics: EpochMetrics = {
      epoch: epoch + 1,
      step: state.step,
      lr: learningRate(config.optimizer.lr, config.schedule, {
        epochs: epoch,
        samples: state.samples,
        steps: state.step,
      }),
      loss: lossSum / Math.max(seen, 1),
      accuracy: accSum / Math.max(seen, 1),
      ...(val ? { valLoss: val.loss, valAccuracy: val.accuracy } : {}),
      imagesPerSec: seen / Math.max(seconds, 1e-9),
      seconds,
      dataWaitSeconds: dataWait / 1000,
    };
    const improved =
      val !== undefined && (state.best === undefined || val.loss < state.best.valLoss);
    const sinceBest = improved ? 0 : (state.sinceBest ?? 0) + 1;
    const { partial: _done, ...rest } = state;
    state = {
      ...rest,
      epoch: epoch + 1,
      batch: 0,
      history: [...(state.history ?? []), metrics],
      ...(improved
        ? { best: { epoch: epoch + 1, valLoss: val.loss, valAccuracy: val.accuracy } }
        : {}),
      sinceBest,
      ...(o.patience !== undefined && val !== undefined && sinceBest >= o.patience
        ? { stoppedEarly: true }
        : {}),
    };
    // Best weights first: a kill between the two leaves a checkpoint that will redo this epoch.
    if (improved) await saveCheckpoint(paths.best, model, undefined, state, o.key);
    await save();
    lastSave = { step: state.step, at: performance.now() };
    writeMetrics(o.outDir, state.history!);
    o.onEpoch?.(metrics);
  }
  optimizer.dispose();
  return {
    history: state.history ?? [],
    interrupted,
    startEpoch,
    ...(state.best ? { best: state.best } : {}),
    stoppedEarly: state.stoppedEarly ?? false,
    ...(interrupted
      ? { stoppedAt: { epoch: state.epoch + 1, batch: state.batch, batches, step: state.step } }
      : {}),
  };
}
