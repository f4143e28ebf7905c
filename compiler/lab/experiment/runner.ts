import { join, resolve } from "node:path";
import { fallbackTrainConfig, type TrainConfig } from "../../language/config/train.js";
import { toJson, type Json, type Value } from "../../language/elaborate/values.js";
import type { IRGraph } from "../../language/ir/types.js";
import { buildVariant, type Program } from "../../language/program.js";
import type { Variant } from "../../language/variant.js";
import type { StepReport } from "../train/metrics.js";
import {
  archcVersion,
  CheckpointError,
  configIdentity,
  identityHash,
  LockError,
  networkHash,
  RunError,
  type RunIdentity,
} from "../run/index.js";
import { appendResult, readResults, resultsFile, type SweepRecord } from "../sweep/results.js";
import type { ExpectedRow } from "../sweep/merge.js";
import { FileProblem, removeFile } from "../../util/files.js";
import { LatencyCache, latencyFile, TFJS_LATENCY_TIMES } from "./latency.js";
import type { Measure } from "./measures.js";
import type { ExperimentPlan } from "./plan.js";
import { handlePendingSignals, interruptible } from "./signals.js";
import type { PreciseBnMode } from "../train/batchNorm.js";
import type { InputAdaptation } from "../train/data/adapt.js";
import { defaultValSplit } from "../train/data/split.js";

/** How every configuration of a plan is measured: the same for sweep and search. */
export interface ExperimentSettings {
  /** The spec file (recorded in run manifests, so that `export` can build a run again). */
  readonly file: string;
  readonly measures: readonly Measure[];
  readonly snap: boolean;
  /** The tfjs backend asked for (`auto`, `wasm`, ...) and the one that runs. */
  readonly backend: string;
  readonly backendName: string;
  /** The threads the tfjs backend runs (wasm), when it says. */
  readonly backendThreads?: number;
  /** Latency: images per timed pass and passes (default 1 and 5). */
  readonly latencyBatch?: number;
  readonly runs?: number;
  readonly strategy?: string;
  /** Training overrides of the config: epochs or a step budget, batch, learning rate. */
  readonly epochs?: number;
  readonly steps?: number;
  readonly batch?: number;
  readonly lr?: number;
  readonly data?: string;
  readonly limit?: number;
  readonly valLimit?: number;
  /** What the numbers mean (lab/train/session.ts): validation split, batch norm, adaptation. */
  readonly valSplit?: number;
  readonly bnMomentum?: number;
  readonly preciseBn?: PreciseBnMode;
  readonly adapt?: InputAdaptation;
  /** The first seed, and how many: seeds seed .. seed + seeds - 1. */
  readonly seed: number;
  readonly seeds: number;
  readonly engine: "tfjs" | "torch";
  readonly python?: string;
  /** Data loading's threads or DataLoader workers (--workers): never changes a result. */
  readonly workers?: number;
  /** Threads of the torch engine's latency timing (tfjs's are set when its backend starts). */
  readonly torchThreads?: number;
  /** Only every `of`-th configuration from the `index`-th: one job of an array. */
  readonly shard?: { readonly index: number; readonly of: number };
  readonly outDir: string;
  /** Forget the folder's earlier results first. */
  readonly fresh?: boolean;
}

/** What the runner tells its caller as it goes (progress bars, messages). */
export interface ExperimentHooks {
  /** A row is done: measured now, or reused from the folder's results. */
  readonly onRow?: (label: string, cached: boolean) => void;
  readonly onStep?: (label: string, r: StepReport) => void;
  /** A configuration failed (its row holds the error); the others go on. */
  readonly onFailure?: (label: string, message: string) => void;
  /** The first Ctrl-C: the runner stops at the next safe point. */
  readonly onStopping?: () => void;
  /** A configuration's numbers are suspect (too short for its batch norm, unrecalibrated). */
  readonly onWarning?: (label: string, message: string) => void;
}

export interface ExperimentOutcome {
  /** The rows of this run, in plan order (cached ones marked). */
  readonly records: SweepRecord[];
  /** Rows the plan asks for in this share (configurations x seeds). */
  readonly planned: number;
  /** Stopped by Ctrl-C before the end; the same command continues. */
  readonly interrupted: boolean;
  readonly resultsPath: string;
}

/**
 * The errors after which no configuration can go on: a folder held by another process, a run
 * folder or checkpoint that cannot be used, no Python for the torch engine. The runner stops and
 * its caller reports the message.
 */
export function isFatal(e: unknown): e is Error {
  return (
    e instanceof LockError ||
    e instanceof RunError ||
    e instanceof CheckpointError ||
    e instanceof FileProblem ||
    (e instanceof Error && e.name === "TorchEngineError" && /Python/.test(e.message))
  );
}

/** The train config after the command line's overrides (learning rate; epochs and batch apply in the trainer). */
function overridden(config: TrainConfig, s: ExperimentSettings): TrainConfig {
  return s.lr !== undefined ? { ...config, optimizer: { ...config.optimizer, lr: s.lr } } : config;
}

/**
 * Everything that decides a row's numbers: the elaborated network (not the spec's bytes: a
 * comment keeps every row), its arguments, what is measured and how, and for training the
 * config after overrides, the data, the seed and the engine.
 */
export function rowIdentity(
  v: Variant,
  network: { graph: IRGraph } | { invalid: { code: string; message: string } },
  config: TrainConfig,
  s: ExperimentSettings,
  seed: number | undefined,
): RunIdentity {
  const train = s.measures.includes("train");
  return {
    archc: archcVersion(),
    network: v.network,
    args: Object.fromEntries(v.point) as unknown as Json,
    ...("graph" in network ? { graph: networkHash(network.graph) } : { invalid: network.invalid }),
    snap: s.snap,
    measures: [...s.measures].sort(),
    ...(s.engine === "torch" && train ? { engine: "torch" } : {}),
    ...(s.measures.includes("latency")
      ? {
          latency: {
            // A torch timing says so; a tfjs one says what it times (the inference program since
            // `archc run` runs it: rows timed with model.predict before are timed again).
            ...(s.engine === "torch"
              ? { engine: "torch", threads: s.torchThreads ?? null }
              : { times: TFJS_LATENCY_TIMES }),
            backend: s.engine === "torch" ? null : s.backend,
            // A wasm backend's thread count decides its time as much as the backend does.
            ...(s.engine !== "torch" && s.backendThreads !== undefined
              ? { backendThreads: s.backendThreads }
              : {}),
            batch: s.latencyBatch ?? 1,
            runs: s.runs ?? 5,
            // The grouped-convolution strategy decides the time measured.
            strategy: s.strategy ?? "auto",
          },
        }
      : {}),
    ...(train
      ? {
          train: {
            ...configIdentity(config),
            epochs: s.epochs ?? config.epochs,
            ...(s.batch !== undefined ? { batch: s.batch } : {}),
            ...(s.steps !== undefined ? { steps: s.steps } : {}),
          },
          data: {
            source: s.data ?? config.dataset ?? null,
            limit: s.limit ?? null,
            valLimit: s.valLimit ?? null,
            valSplit: s.valSplit ?? defaultValSplit,
            adapt: {
              resize: s.adapt?.resize ?? false,
              repeatChannels: s.adapt?.repeatChannels ?? false,
            },
          },
          batchNorm: { momentum: s.bnMomentum ?? null, precise: s.preciseBn ?? "auto" },
          seed: seed ?? s.seed,
        }
      : {}),
  };
}

/** For plots: the partition count as a number (depthwise: the largest group count used). */
function partsX(graph: IRGraph, point: ReadonlyMap<string, Value>): number | undefined {
  const p = point.get("parts");
  if (p?.t === "int") return p.v;
  if (p?.t === "symbol" && p.v === "regular") return 1;
  if (p?.t === "symbol" && p.v === "depthwise") {
    const groups = graph.nodes.map((n) =>
      n.op === "conv" || n.op === "sepconv" ? n.attrs.groups : 0,
    );
    return Math.max(...groups);
  }
  return undefined;
}

/**
 * Measures every configuration of a plan (each seed of it, when training), appending each row to
 * OUT/results.jsonl as soon as it is known and reusing a saved row whose identity is the same.
 * Ctrl-C stops after the current step (training writes its checkpoint) or configuration; the
 * same call then ends where an uninterrupted one ends. The caller holds the folder's lock
 * (`withFolderLock`).
 */
export async function runExperiment(
  program: Program,
  plan: ExperimentPlan,
  s: ExperimentSettings,
  hooks: ExperimentHooks = {},
): Promise<ExperimentOutcome> {
  const { variants, axes } = plan;
  const resultsPath = join(s.outDir, resultsFile);
  if (s.fresh) forget(s.outDir);
  const done = readResults(s.outDir);
  // A network timed before (by a search's latency screening, or an earlier run) is not timed again.
  const timings = s.measures.includes("latency") ? new LatencyCache(s.outDir) : undefined;
  const training = s.measures.includes("train");
  const session = training ? await import("../train/session.js") : undefined;
  // Repeated seeds only change trained numbers; params, MACs and latency are measured once.
  const seedList = training ? Array.from({ length: s.seeds }, (_, i) => s.seed + i) : [undefined];
  const signals = interruptible(() => hooks.onStopping?.());
  const records: SweepRecord[] = [];
  let interrupted = false;
  let planned = 0;
  try {
    outer: for (const [i, v] of variants.entries()) {
      if (s.shard && i % s.shard.of !== s.shard.index) continue;
      planned += seedList.length;
      if (interrupted) continue;
      const config = overridden(plan.configFor(i) ?? fallbackTrainConfig, s);
      // Elaborating is what the identity is made of; it is cheap beside any measurement.
      const built = buildVariant(program, v, { snap: s.snap });
      const network = built.ok
        ? { graph: built.graph }
        : { invalid: { code: built.diagnostics[0]!.code, message: built.diagnostics[0]!.message } };
      for (const seed of seedList) {
        const identity = rowIdentity(v, network, config, s, seed);
        const key = identityHash(identity);
        const prior = done.get(key);
        if (prior) {
          records.push({ ...prior, cached: true });
          hooks.onRow?.(v.label, true);
          continue;
        }
        await handlePendingSignals();
        if (signals.stopped()) {
          interrupted = true;
          continue outer;
        }
        // The table's columns: each axis's value, or the model's label when an experiment compares.
        const point = Object.fromEntries(
          axes.map((a) => [
            a,
            a === "model" ? v.label : v.point.has(a) ? toJson(v.point.get(a)!) : null,
          ]),
        );
        const head = {
          variant: v.label,
          key,
          identity,
          point,
          ...(seed !== undefined && s.seeds > 1 ? { seed } : {}),
        };
        let record: SweepRecord;
        if (!built.ok) {
          const d = built.diagnostics[0]!;
          record = { ...head, error: { code: d.code, message: d.message } };
          hooks.onFailure?.(v.label, `${d.code} ${d.message}${d.hint ? ` (${d.hint})` : ""}`);
        } else {
          const g = built.graph;
          const x = partsX(g, v.point);
          let r: SweepRecord = {
            ...head,
            ...(x !== undefined ? { partsX: x } : {}),
            params: g.totals.params.total,
            trainable: g.totals.params.trainable,
            macs: g.totals.macs,
            ...(built.snapped.length ? { snapped: built.snapped } : {}),
          };
          try {
            if (timings) r = { ...r, latency: (await timings.time(g, s)).latency };
            if (session) {
              const folder =
                session.runFolderName(v.label) + (s.seeds > 1 ? `-seed${seed ?? s.seed}` : "");
              // The variant's folder continues when it holds this very run (a sweep killed
              // mid-training, or between its last checkpoint and its results line), and starts
              // over otherwise. Its checkpoint holds the history the results line is made from.
              const trainer =
                s.engine === "torch"
                  ? (await import("../torch/engine.js")).trainTorchWith(
                      s.python ? { python: s.python } : {},
                    )
                  : session.trainNetwork;
              const res = await trainer({
                graph: g,
                config,
                outDir: join(s.outDir, folder),
                seed: seed ?? s.seed,
                mode: "auto",
                command: "sweep",
                source: {
                  file: resolve(s.file),
                  network: v.network,
                  point: Object.fromEntries(v.point) as unknown as Json,
                },
                ...(s.data ? { data: s.data } : {}),
                ...(s.epochs ? { epochs: s.epochs } : {}),
                ...(s.steps ? { steps: s.steps } : {}),
                ...(s.batch ? { batch: s.batch } : {}),
                ...(s.limit ? { limit: s.limit } : {}),
                ...(s.valLimit ? { valLimit: s.valLimit } : {}),
                ...(s.valSplit !== undefined ? { valSplit: s.valSplit } : {}),
                ...(s.bnMomentum !== undefined ? { bnMomentum: s.bnMomentum } : {}),
                ...(s.preciseBn ? { preciseBn: s.preciseBn } : {}),
                ...(s.adapt ? { adapt: s.adapt } : {}),
                ...(s.workers !== undefined ? { workers: s.workers } : {}),
                onWarning: (message) => hooks.onWarning?.(v.label, message),
                shouldStop: signals.stopped,
                ...(s.strategy ? { strategy: s.strategy } : {}),
                ...(hooks.onStep
                  ? { onStep: (step: StepReport) => hooks.onStep!(v.label, step) }
                  : {}),
              });
              if (res.interrupted) {
                interrupted = true;
                continue outer;
              }
              const last = res.history[res.history.length - 1];
              if (last) {
                r = {
                  ...r,
                  train: {
                    epochs: res.history.length,
                    loss: last.loss,
                    accuracy: last.accuracy,
                    ...(last.valLoss !== undefined ? { valLoss: last.valLoss } : {}),
                    ...(last.valAccuracy !== undefined ? { valAccuracy: last.valAccuracy } : {}),
                    seconds: res.history.reduce((sum, h) => sum + h.seconds, 0),
                    imagesPerSec: last.imagesPerSec,
                    ...(res.valName ? { valData: res.valName } : {}),
                    ...(res.batchNorm.precise ? { preciseBn: true } : {}),
                    ...(res.batchNorm.warning ? { bnLag: true } : {}),
                  },
                };
              }
            }
          } catch (e) {
            if (isFatal(e)) throw e;
            const message = e instanceof Error ? e.message.split("\n")[0]! : String(e);
            r = { ...r, error: { code: "run", message } };
            hooks.onFailure?.(v.label, message);
          }
          record = r;
        }
        appendResult(s.outDir, record);
        records.push(record);
        hooks.onRow?.(v.label, false);
      }
    }
  } finally {
    signals.dispose();
  }
  return { records, planned, interrupted: interrupted || signals.stopped(), resultsPath };
}

/** `--fresh`: the folder's results and timings are forgotten, and everything measured again. */
export function forget(outDir: string): void {
  removeFile(join(outDir, resultsFile), outDir);
  removeFile(join(outDir, latencyFile), outDir);
}

/** Rows a run of the plan makes in its share: configurations times seeds (when training). */
export function plannedRows(plan: ExperimentPlan, s: ExperimentSettings): number {
  const share = s.shard
    ? plan.variants.filter((_, i) => i % s.shard!.of === s.shard!.index).length
    : plan.variants.length;
  return share * (s.measures.includes("train") ? s.seeds : 1);
}

/**
 * Every row the plan asks for (each configuration, each seed when training) with the identity
 * runExperiment would give it: what `--merge` compares a shard's rows with.
 */
export function expectedRows(
  program: Program,
  plan: ExperimentPlan,
  s: ExperimentSettings,
): ExpectedRow[] {
  const training = s.measures.includes("train");
  const seedList = training ? Array.from({ length: s.seeds }, (_, i) => s.seed + i) : [undefined];
  return plan.variants.flatMap((v, i) => {
    const config = overridden(plan.configFor(i) ?? fallbackTrainConfig, s);
    const built = buildVariant(program, v, { snap: s.snap });
    const network = built.ok
      ? { graph: built.graph }
      : { invalid: { code: built.diagnostics[0]!.code, message: built.diagnostics[0]!.message } };
    return seedList.map((seed) => ({
      label: v.label,
      ...(seed !== undefined && s.seeds > 1 ? { seed } : {}),
      identity: rowIdentity(v, network, config, s, seed),
    }));
  });
}

/** Runs `fn` holding the folder's lock, so that two experiments never write one folder. */
export async function withFolderLock<T>(
  dir: string,
  command: string,
  fn: () => Promise<T>,
): Promise<T> {
  const { acquireLock, releaseLock } = await import("../run/lock.js");
  const lock = acquireLock(dir, command);
  try {
    return await fn();
  } finally {
    releaseLock(lock);
  }
}
