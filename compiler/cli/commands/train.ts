import { startBackend, torchThreads } from "../backend.js";
import { integerFlag } from "../../util/integerFlag.js";
import {
  experimentVariants,
  isDesignSpace,
  trainConfigNameFor,
} from "../../language/config/experiment.js";
import { fallbackTrainConfig, type TrainConfig } from "../../language/config/train.js";
import type { IRGraph } from "../../language/ir/types.js";
import {
  buildVariant,
  loadProgram,
  parseSets,
  pickDeclaration,
  pickNetwork,
  pickTrainConfig,
  type Program,
} from "../../language/program.js";
import { float } from "../../language/elaborate/values.js";
import { boundArg, makeVariant, withArgs, type Variant } from "../../language/variant.js";
import { syntheticSpan } from "../../../grammar/span.js";
import type { BackendChoice } from "../../backends/tfjs/choices.js";
import { Exit, type IO } from "../io.js";
import { report } from "../report.js";
import { outPathRefused } from "../outPath.js";
import { FileProblem } from "../../util/files.js";
import { resolve } from "node:path";
import type { Json } from "../../language/elaborate/values.js";

/** What `archc export` needs to build a run's network again: the spec file and the variant. */
export function variantSource(file: string, v: Variant): Json {
  return {
    file: resolve(file),
    network: v.network,
    point: Object.fromEntries(v.point) as unknown as Json,
  };
}
import { join } from "node:path";
import { parseRunFlags, type RunFlagsText } from "../runFlags.js";
import type { StopPoint } from "../../lab/train/loop.js";

export interface TrainCliOptions extends RunFlagsText {
  readonly experiment?: string;
  readonly network?: string;
  readonly config?: string;
  readonly set?: readonly string[];
  readonly data?: string;
  readonly valData?: string;
  readonly epochs?: string;
  readonly steps?: string;
  readonly batch?: string;
  readonly lr?: string;
  readonly limit?: string;
  readonly valLimit?: string;
  readonly out?: string;
  readonly resume?: boolean;
  readonly fresh?: boolean;
  readonly checkpointSteps?: string;
  readonly checkpointMinutes?: string;
  readonly patience?: string;
  readonly quiet?: boolean;
  readonly backend: BackendChoice;
  readonly seed: string;
  readonly skipCorrupt?: boolean;
  readonly json?: boolean;
  readonly strategy?: string;
  /** --engine torch and its options (lab/torch/options.ts). */
  readonly engine?: string;
  readonly python?: string;
  readonly nproc?: string;
  readonly nnodes?: string;
  readonly nodeRank?: string;
  readonly rdzvEndpoint?: string;
  readonly samplesLog?: boolean;
  readonly threads?: string;
  readonly workers?: string;
}

interface Run {
  readonly label: string;
  readonly variant: Variant;
  readonly config: TrainConfig;
}

function intOption(
  io: IO,
  name: string,
  text: string | undefined,
  min: number,
): number | undefined | null {
  if (text === undefined) return undefined;
  const n = integerFlag(name, text, min);
  if (typeof n === "number") return n;
  io.err(`archc train: ${n.error}`);
  return null;
}

function planRuns(io: IO, file: string, program: Program, opts: TrainCliOptions): Run[] | number {
  const sets = parseSets(opts.set ?? []);
  if (sets.diagnostics.length) return report(io, program, sets.diagnostics);
  if (opts.experiment) {
    const x = pickDeclaration(program, "experiment", opts.experiment);
    if ("code" in x) return report(io, program, [x]);
    if (isDesignSpace(x)) {
      io.err(
        `archc train: experiment ${x.name} declares a design space (sweep ... = all, where or samples); search it: archc search ${file} --experiment ${x.name} --measure train`,
      );
      return Exit.usage;
    }
    return experimentVariants(x).map((v, i) => {
      const configName = trainConfigNameFor(x, i);
      const config = (configName && program.trains.get(configName)) || fallbackTrainConfig;
      return { label: v.label, variant: withArgs(v, sets.args), config };
    });
  }
  const net = pickNetwork(program, opts.network);
  if ("code" in net) return report(io, program, [net]);
  const chosen = pickTrainConfig(program, opts.config);
  if ("code" in chosen) return report(io, program, [chosen]);
  // Which config trains is said, so that a config added to the file never changes it unseen.
  if (!opts.json && !opts.quiet) io.err(`archc train: using ${chosen.why}`);
  const config = chosen.config ?? fallbackTrainConfig;
  return [{ label: net.name.name, variant: makeVariant(net.name.name, sets.args), config }];
}

/** The config's dropout reaches the network through its `dropout` parameter, unless set. */
function withDropout(program: Program, run: Run): Variant {
  const d = run.config.dropout;
  const net = program.table.networks.get(run.variant.network);
  if (d === undefined || !net?.params.some((p) => p.name.name === "dropout")) return run.variant;
  if (run.variant.point.has("dropout")) return run.variant;
  const span = syntheticSpan(`train ${run.config.name}: dropout`);
  return withArgs(run.variant, [boundArg("dropout", float(d), span)]);
}

/** Which step a stopped run's checkpoint holds, as the stop message says it. */
export function stopPoint(at: StopPoint | undefined): string {
  if (!at) return "the checkpoint of the last step";
  return at.batch === 0
    ? `step ${at.step} (the end of epoch ${at.epoch - 1})`
    : `step ${at.step} (epoch ${at.epoch}, batch ${at.batch}/${at.batches})`;
}

export async function trainCommand(io: IO, file: string, opts: TrainCliOptions): Promise<number> {
  if (outPathRefused(io, "train --out", opts.out, "folder")) return Exit.usage;
  const epochs = intOption(io, "epochs", opts.epochs, 1);
  const steps = intOption(io, "steps", opts.steps, 1);
  const batch = intOption(io, "batch", opts.batch, 1);
  const limit = intOption(io, "limit", opts.limit, 1);
  const valLimit = intOption(io, "val-limit", opts.valLimit, 1);
  const seed = intOption(io, "seed", opts.seed, 0);
  const threads = intOption(io, "threads", opts.threads, 1);
  const workers = intOption(io, "workers", opts.workers, 0);
  const torchAsked = (await import("../../lab/torch/options.js")).torchOptions(opts);
  if (typeof torchAsked === "string") {
    io.err(`archc train: ${torchAsked}`);
    return Exit.usage;
  }
  const torch =
    torchAsked?.threads !== undefined
      ? { ...torchAsked, threads: torchThreads(io, "train", torchAsked.threads) }
      : torchAsked;
  const checkpointSteps = intOption(io, "checkpoint-steps", opts.checkpointSteps, 0);
  const patience = intOption(io, "patience", opts.patience, 1);
  const minutes = opts.checkpointMinutes === undefined ? 5 : Number(opts.checkpointMinutes);
  const lr = opts.lr === undefined ? undefined : Number(opts.lr);
  const badLr = lr !== undefined && !(Number.isFinite(lr) && lr > 0);
  const badMinutes = !(Number.isFinite(minutes) && minutes >= 0);
  if (
    [
      epochs,
      steps,
      batch,
      limit,
      valLimit,
      seed,
      checkpointSteps,
      patience,
      threads,
      workers,
    ].includes(null) ||
    badLr ||
    badMinutes
  ) {
    if (badLr) io.err(`archc train: --lr must be a positive finite number, not '${opts.lr}'`);
    if (badMinutes)
      io.err(
        `archc train: --checkpoint-minutes must be a number of minutes >= 0 (0: off), not '${opts.checkpointMinutes}'`,
      );
    return Exit.usage;
  }
  if (epochs && steps) {
    io.err("archc train: give --epochs or --steps (a budget in steps), not both");
    return Exit.usage;
  }
  const flags = parseRunFlags(opts);
  if (typeof flags === "string") {
    io.err(`archc train: ${flags}`);
    return Exit.usage;
  }
  if (opts.resume && opts.fresh) {
    io.err("archc train: give --resume (continue the run) or --fresh (start over), not both");
    return Exit.usage;
  }
  if (opts.experiment && opts.network) {
    io.err("archc train: give --experiment or --network, not both");
    return Exit.usage;
  }
  const program = loadProgram(file);
  if (program.diagnostics.length) return report(io, program, program.diagnostics);
  const runs = planRuns(io, file, program, opts);
  if (typeof runs === "number") return runs;

  const graphs: { run: Run; graph: IRGraph; source: Json }[] = [];
  for (const run of runs) {
    const variant = withDropout(program, run);
    const built = buildVariant(program, variant);
    if (!built.ok) return report(io, program, built.diagnostics);
    graphs.push({ run, graph: built.graph, source: variantSource(file, variant) });
  }

  const [session, data, modelMod, progress, runMod] = await Promise.all([
    import("../../lab/train/session.js"),
    import("../../lab/train/data/index.js"),
    import("../../backends/tfjs/model.js"),
    import("../progress.js"),
    import("../../lab/run/index.js"),
  ]);
  const root =
    opts.out ??
    join("runs", graphs.length > 1 ? (opts.experiment ?? "experiment") : graphs[0]!.graph.network);
  const outDirOf = (run: Run) =>
    graphs.length > 1 ? join(root, session.runFolderName(run.label)) : root;
  // --resume where no run has started would silently train from scratch. Node ranks above 0 do
  // not hold the run folder (node 0 does), so only node 0 can tell. An experiment's runs not yet
  // begun start when another of its runs is there to continue.
  if (
    opts.resume &&
    (torch?.nodeRank ?? 0) === 0 &&
    !graphs.some(({ run }) => runMod.holdsRun(outDirOf(run)))
  ) {
    io.err(
      `archc train: ${root} holds no run to resume: no manifest.json, checkpoint or metrics there. Start the run with the same command without --resume, or give the --out of the run to continue`,
    );
    return Exit.diagnostics;
  }
  // The torch engine trains in Python: tfjs only decodes the data, so its backend is not named
  // (the engine names its Python and torch instead).
  const backend = await startBackend(
    io,
    "train",
    opts.backend,
    threads ?? undefined,
    !!(opts.json || opts.quiet || torch),
    !torch,
  );
  if ("exit" in backend) return backend.exit;

  let stop = false;
  // The bar of the run in progress: closed before the stop message, and silent after it.
  let drawing: { halt(): void } | undefined;
  const onSignal = () => {
    if (stop) process.exit(Exit.interrupted);
    stop = true;
    drawing?.halt();
    io.err(
      "\narchc train: stopping after this step and writing a checkpoint (Ctrl-C again to quit now)",
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let interrupted = false;
  let engineName = "torch";
  const results: Record<string, unknown>[] = [];
  try {
    for (const { run, graph, source } of graphs) {
      const outDir = outDirOf(run);
      const config: TrainConfig =
        lr !== undefined
          ? { ...run.config, optimizer: { ...run.config.optimizer, lr } }
          : run.config;
      const epochsNow = epochs ?? config.epochs;
      const bar =
        opts.json || opts.quiet ? undefined : progress.trainingBar(io, run.label, epochsNow);
      drawing = bar;
      let result;
      try {
        const trainer = torch
          ? (await import("../../lab/torch/engine.js")).trainTorchWith({
              ...torch,
              onPython: (py, processes) => {
                engineName = `torch ${py.torch} (Python ${py.version})`;
                if (!opts.json && !opts.quiet)
                  io.err(
                    `engine: torch ${py.torch}, Python ${py.version} (${py.path}), ${py.cuda && !torch.cpu ? "CUDA" : "CPU"}, ${processes} process${processes === 1 ? "" : "es"}`,
                  );
              },
            })
          : session.trainNetwork;
        result = await trainer({
          graph,
          config,
          outDir,
          seed: seed ?? 0,
          mode: opts.resume ? "resume" : opts.fresh ? "fresh" : "new",
          command: "train",
          source,
          checkpointMinutes: minutes,
          ...(checkpointSteps ? { checkpointSteps } : {}),
          ...(patience ? { patience } : {}),
          ...(opts.data ? { data: opts.data } : {}),
          ...(opts.valData ? { valData: opts.valData } : {}),
          ...(epochs ? { epochs } : {}),
          ...(steps ? { steps } : {}),
          ...(batch ? { batch } : {}),
          ...(limit ? { limit } : {}),
          ...(valLimit ? { valLimit } : {}),
          ...(opts.skipCorrupt ? { skipCorrupt: true } : {}),
          ...(typeof workers === "number" ? { workers } : {}),
          ...(opts.strategy ? { strategy: opts.strategy } : {}),
          ...flags,
          onNotice: (line) => {
            if (!opts.json && !opts.quiet) io.err(`archc train: ${run.label}: ${line}`);
          },
          onWarning: (line) => io.err(`archc train: warning: ${run.label}: ${line}`),
          onCheckpointing: () => {
            if (!opts.json && !opts.quiet)
              io.err(
                `archc train: ${run.label} would not fit in memory at this batch; recomputing activations in the backward pass (gradient checkpointing, about a third slower)`,
              );
          },
          onStrategies: (c) => {
            if (!c.fits)
              io.err(
                `archc train: ${run.label} is estimated to need ${(c.bytes / 2 ** 30).toFixed(1)} GB at this batch, over the ${(c.budgetBytes / 2 ** 30).toFixed(1)} GB available; using the leanest grouped-convolution strategies (a smaller --batch would fit)`,
              );
          },
          ...(bar ? { onStep: bar.step, onEpoch: bar.epoch } : {}),
          shouldStop: () => stop,
        });
      } catch (e) {
        bar?.stop();
        if (
          e instanceof data.DataError ||
          e instanceof session.NoDataError ||
          e instanceof modelMod.ModelBuildError ||
          e instanceof runMod.RunError ||
          e instanceof runMod.LockError ||
          e instanceof runMod.CheckpointError ||
          e instanceof FileProblem ||
          (e instanceof Error && e.name === "TorchEngineError")
        ) {
          io.err(`archc train: ${e.message}`);
          return Exit.diagnostics;
        }
        throw e;
      }
      bar?.stop();
      const last = result.history[result.history.length - 1];
      results.push({
        run: run.label,
        backend: torch ? "torch" : backend.name,
        ...(torch ? { engine: engineName } : {}),
        outDir,
        params: result.params,
        epochs: epochsNow,
        interrupted: result.interrupted,
        stoppedEarly: result.stoppedEarly,
        ...(result.best ? { best: result.best } : {}),
        ...(result.valName ? { valData: result.valName } : {}),
        preciseBn: result.batchNorm.precise,
        ...(result.batchNorm.warning ? { warning: result.batchNorm.warning } : {}),
        ...(last
          ? {
              loss: last.loss,
              accuracy: last.accuracy,
              valLoss: last.valLoss,
              valAccuracy: last.valAccuracy,
              imagesPerSec: last.imagesPerSec,
            }
          : {}),
        skipped: result.skipped,
      });
      if (result.interrupted) {
        interrupted = true;
        io.err(
          `${run.label}: stopped; ${stopPoint(result.stoppedAt)} saved in ${join(outDir, "checkpoint.bin")}. Continue with the same command and --resume`,
        );
      } else if (!opts.json && !opts.quiet) {
        io.out(
          last
            ? `${run.label}: train loss ${last.loss.toFixed(4)}, train accuracy ${last.accuracy.toFixed(4)}${last.valAccuracy !== undefined ? `, val accuracy ${last.valAccuracy.toFixed(4)} (${result.valName ?? "val"})` : ""}${result.best ? ` (best val loss at epoch ${result.best.epoch}, in best.bin)` : ""}${result.stoppedEarly ? `; stopped early after ${result.history.length} epochs (patience ${patience})` : ""}, ${last.imagesPerSec.toFixed(1)} images/s${result.skipped ? `, ${result.skipped} unreadable images skipped` : ""}; metrics in ${join(outDir, "metrics.jsonl")} and metrics.csv`
            : `${run.label}: no epoch finished in ${outDir}`,
        );
      }
      if (result.interrupted) break;
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  if (opts.json) io.out(JSON.stringify(results.length === 1 ? results[0] : results, null, 2));
  return interrupted ? Exit.interrupted : Exit.ok;
}
