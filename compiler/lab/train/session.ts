import type { TrainConfig } from "../../language/config/train.js";
import type { IRGraph } from "../../language/ir/types.js";
import { trainingNeedsCheckpoints } from "../../backends/tfjs/checkpoint.js";
import { memoryBudget } from "../../backends/tfjs/grouped/index.js";
import { buildModelFromIR, type BuildOptions } from "../../backends/tfjs/model.js";
import { defaultValSplit, isIdxSource, openRunData, type Dataset } from "./data/index.js";
import type { InputAdaptation } from "./data/adapt.js";
import {
  planBatchNorm,
  withBnMomentum,
  type BatchNormPlan,
  type PreciseBnMode,
} from "./batchNorm.js";
import { seedWeights } from "./init.js";
import { train, type EpochMetrics, type StepReport, type TrainResult } from "./loop.js";
import type { Json } from "../../language/elaborate/values.js";
import { archcVersion, configIdentity, networkHash, type RunIdentity } from "../run/identity.js";
import { closeRun, openRun, type OpenMode } from "../run/open.js";

export interface SessionOptions {
  readonly graph: IRGraph;
  readonly config: TrainConfig;
  /** synthetic[:N], fashion-mnist, an IDX folder or an image folder; else the config's dataset. */
  readonly data?: string;
  readonly valData?: string;
  readonly epochs?: number;
  /** A budget in steps instead of epochs: the fewest whole epochs that take at least this many. */
  readonly steps?: number;
  readonly batch?: number;
  readonly limit?: number;
  readonly valLimit?: number;
  readonly outDir: string;
  /** Continue the folder's run (same as mode "resume"). */
  readonly resume?: boolean;
  /** What to do with a folder that holds a run (lab/run/open.ts); default: resume ? resume : new. */
  readonly mode?: OpenMode;
  /** Identity fields the caller knows beyond the session's own, e.g. the engine. */
  readonly identity?: RunIdentity;
  /** Shown to another process that finds the folder locked. */
  readonly command?: string;
  /** Where the network came from, for the manifest (lab/run/manifest.ts: Manifest.source). */
  readonly source?: Json;
  readonly checkpointSteps?: number;
  readonly checkpointMinutes?: number;
  readonly patience?: number;
  readonly seed?: number;
  readonly skipCorrupt?: boolean;
  /**
   * Data loading's parallelism: decoding threads (embedded trainer; 0: on the main thread), or
   * DataLoader workers per process (torch engine). Never changes which samples, in what order,
   * nor their numbers, so it is recorded in the manifest's runtime, not the run's identity.
   */
  readonly workers?: number;
  readonly onStep?: (r: StepReport) => void;
  readonly onEpoch?: (m: EpochMetrics) => void;
  readonly shouldStop?: () => boolean;
  /** Grouped-convolution strategy of every grouped layer (default: per layer, within memory). */
  readonly strategy?: string;
  /** Bytes training may use (default: from the machine and the backend; see memoryBudget). */
  readonly memoryBudget?: number;
  /** Told when a plain training step would not fit and activations are recomputed instead. */
  readonly onCheckpointing?: () => void;
  /** Told which grouped-convolution strategies were chosen and whether they should fit. */
  readonly onStrategies?: BuildOptions["onStrategies"];
  /** Momentum of every batch norm (default: the config's bn_momentum, else each layer's). */
  readonly bnMomentum?: number;
  /** Recalibrate batch norms before each evaluation (default auto: for runs too short). */
  readonly preciseBn?: PreciseBnMode;
  /** Fraction of the training examples held out to validate (IDX sources; default 0.1). */
  readonly valSplit?: number;
  /** Resizing and channel repetition allowed for data of another shape than the input. */
  readonly adapt?: InputAdaptation;
  /** Told, once each, what the run decided that changes its numbers (precise BN, adaptation). */
  readonly onNotice?: (line: string) => void;
  /** Told what makes the run's numbers suspect (a run too short for its batch norm). */
  readonly onWarning?: (line: string) => void;
}

export interface SessionResult extends TrainResult {
  readonly params: number;
  readonly epochs: number;
  readonly skipped: number;
  /** What the validation numbers were measured on, e.g. "fashion-mnist (val)". */
  readonly valName?: string;
  /** The batch-norm decision: recalibrated or not, and the warning when too short for it. */
  readonly batchNorm: BatchNormPlan;
}

/** Everything both engines decide before training: the network, data, batch norm, identity. */
export interface PreparedRun {
  /** The network as trained (with --bn-momentum applied). */
  readonly graph: IRGraph;
  readonly trainData: Dataset;
  readonly valData?: Dataset;
  readonly epochs: number;
  readonly batch: number;
  readonly seed: number;
  readonly batchNorm: BatchNormPlan;
  readonly identity: RunIdentity;
}

/** Minutes between checkpoints within an epoch unless told otherwise. */
export const defaultCheckpointMinutes = 5;

/** No dataset named anywhere: the user must say which. */
export class NoDataError extends Error {}

/**
 * One training run of one network: opens its data (shaped to the network's input), builds the
 * model with seeded weights, and trains it. Shared by `archc train` and `archc sweep`.
 */
export async function trainNetwork(o: SessionOptions): Promise<SessionResult> {
  const { config } = o;
  const p = await prepareRun(o, "tfjs");
  const { graph, trainData, valData, epochs, batch, seed } = p;
  const run = openRun(o.outDir, p.identity, {
    mode: o.mode ?? (o.resume ? "resume" : "new"),
    command: o.command ?? "train",
    ...(o.source !== undefined ? { source: o.source } : {}),
    ...(o.workers !== undefined ? { runtime: { workers: o.workers } } : {}),
  });
  let model: ReturnType<typeof buildModelFromIR> | undefined;
  try {
    // The batch is known: grouped layers get the fastest strategies that fit in memory together.
    model = buildModelFromIR(graph, {
      batch,
      mode: "train",
      ...(o.strategy && o.strategy !== "auto" ? { groupedStrategy: o.strategy } : {}),
      ...(o.memoryBudget !== undefined ? { memoryBudget: o.memoryBudget } : {}),
      ...(o.onStrategies ? { onStrategies: o.onStrategies } : {}),
    });
    seedWeights(model, seed);
    const last = graph.nodes[graph.output]!;
    const probabilities =
      (last.op === "dense" || last.op === "act") && last.attrs.activation === "softmax";
    // A step that would not fit in memory (Xception at 299x299, batch 8, on wasm) recomputes.
    // The budget is taken once, so every step recomputes the same segments.
    const budget = o.memoryBudget ?? memoryBudget();
    const checkpointActivations = trainingNeedsCheckpoints(graph, batch, budget);
    if (checkpointActivations) o.onCheckpointing?.();
    const result = await train({
      model,
      config,
      train: trainData,
      ...(valData ? { val: valData } : {}),
      epochs,
      batch,
      outDir: o.outDir,
      resume: run.resume,
      key: run.key,
      seed,
      probabilities,
      ...(o.checkpointSteps !== undefined ? { checkpointSteps: o.checkpointSteps } : {}),
      // Every caller (train, sweep, the API) checkpoints within minutes, not only per epoch.
      checkpointMinutes: o.checkpointMinutes ?? defaultCheckpointMinutes,
      ...(o.patience !== undefined ? { patience: o.patience } : {}),
      checkpointActivations,
      memoryBudget: budget,
      ...(p.batchNorm.precise ? { preciseBnImages: p.batchNorm.images } : {}),
      ...(o.onStep ? { onStep: o.onStep } : {}),
      ...(o.onEpoch ? { onEpoch: o.onEpoch } : {}),
      ...(o.shouldStop ? { shouldStop: o.shouldStop } : {}),
    });
    return {
      ...result,
      params: model.countParams(),
      epochs,
      skipped: trainData.skipped?.length ?? 0,
      ...(valData ? { valName: valData.name } : {}),
      batchNorm: p.batchNorm,
    };
  } finally {
    model?.dispose();
    closeRun(run);
  }
}

/**
 * What both engines do before training: the batch norms' momentum applied, the data opened
 * (validation held out, input adaptation checked), precise BN decided, and the identity made;
 * the decisions that change the numbers are told through onNotice and onWarning.
 */
export async function prepareRun(
  o: SessionOptions,
  engine: "tfjs" | "torch",
): Promise<PreparedRun> {
  const { config } = o;
  const spec = o.data ?? config.dataset;
  if (!spec)
    throw new NoDataError(
      `no data for ${o.graph.network}: pass --data (synthetic, fashion-mnist, an IDX folder or an image folder)`,
    );
  const seed = o.seed ?? 0;
  const graph = withBnMomentum(o.graph, o.bnMomentum ?? config.bnMomentum);
  const { trainData, valData } = await openRunData(spec, graph, { ...o, seed });
  // The embedded trainer reads the data itself: its decoding threads start while it builds.
  if (engine === "tfjs") for (const d of [trainData, valData]) d?.warm?.();
  const epochs = epochsFor(o, trainData.size);
  const batch = o.batch ?? config.batch;
  const steps = epochs * Math.ceil(trainData.size / batch);
  const batchNorm = planBatchNorm(graph, o.preciseBn ?? "auto", steps, trainData.size);
  if (trainData.adaptation?.length)
    o.onNotice?.(`input adapted: ${trainData.name}: ${trainData.adaptation.join(", ")}`);
  o.onNotice?.(
    valData
      ? `validation: ${valData.name}, ${valData.size} examples${isIdxSource(spec) && !o.valData ? ` from the part of the training data held out (--val-split ${o.valSplit ?? defaultValSplit}, seed ${seed})` : ""}`
      : "validation: none (--val-split 0)",
  );
  if (batchNorm.note) o.onNotice?.(batchNorm.note);
  if (batchNorm.warning) o.onWarning?.(batchNorm.warning);
  // The network as written: the momentum changes no weight and no inference, only how the
  // moving averages move, so it is recorded with the training settings (train.bnMomentum) and
  // export or eval, which build the network again from its spec, find the same hash.
  const identity = trainIdentity({
    ...o,
    identity: { ...o.identity, ...(engine === "torch" ? { engine } : {}) },
  });
  return {
    graph,
    trainData,
    ...(valData ? { valData } : {}),
    epochs,
    batch,
    seed,
    batchNorm,
    identity,
  };
}

/**
 * The identity of a training run: the network as built (its IR and every argument value), the
 * train config after overrides, the data and its limits, the seed, and archc's version, with what
 * the caller adds. Not the spec file's bytes: a comment added to it keeps the run. Epochs may grow
 * on --resume (train for longer).
 */
export function trainIdentity(o: SessionOptions): RunIdentity {
  const { graph, config } = o;
  const valLimit = o.valLimit ?? (o.limit ? Math.max(1, Math.ceil(o.limit / 5)) : undefined);
  return {
    archc: archcVersion(),
    engine: "tfjs",
    network: graph.network,
    args: graph.args as Json,
    graph: networkHash(graph),
    train: {
      ...configIdentity(config),
      epochs: o.epochs ?? config.epochs,
      batch: o.batch ?? config.batch,
      patience: o.patience ?? null,
      preciseBn: o.preciseBn ?? "auto",
      ...(o.bnMomentum !== undefined ? { bnMomentum: o.bnMomentum } : {}),
      ...(o.steps !== undefined ? { steps: o.steps } : {}),
    },
    data: {
      source: o.data ?? config.dataset ?? null,
      val: o.valData ?? null,
      limit: o.limit ?? null,
      valLimit: valLimit ?? null,
      valSplit: o.valSplit ?? defaultValSplit,
      adapt: { resize: o.adapt?.resize ?? false, repeatChannels: o.adapt?.repeatChannels ?? false },
    },
    seed: o.seed ?? 0,
    ...o.identity,
  };
}

/**
 * Epochs to train: the fewest whole epochs that make `steps` steps at the run's batch on
 * `examples` training examples when a step budget is given, else `epochs`, else the config's.
 */
export function epochsFor(o: SessionOptions, examples: number): number {
  if (o.steps === undefined) return o.epochs ?? o.config.epochs;
  const perEpoch = Math.max(1, Math.ceil(examples / (o.batch ?? o.config.batch)));
  return Math.max(1, Math.ceil(o.steps / perEpoch));
}

/** A run folder name from a variant label: `xception(parts = 4)` -> `xception_parts_=_4`. */
export function runFolderName(label: string): string {
  return label.replace(/[^A-Za-z0-9=_-]+/g, "_").replace(/_+$/g, "");
}
