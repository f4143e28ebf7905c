import { startBackend } from "../backend.js";
import { integerFlag } from "../../util/integerFlag.js";
import { join, resolve } from "node:path";
import { syntheticSpan } from "../../../grammar/span.js";
import type { BackendChoice } from "../../backends/tfjs/choices.js";
import { experimentVariants, trainConfigNameFor } from "../../language/config/experiment.js";
import { fallbackTrainConfig, type TrainConfig } from "../../language/config/train.js";
import { error, type Diagnostic } from "../../../grammar/diagnostic.js";
import { toJson, type Json, type Value } from "../../language/elaborate/values.js";
import { specHash } from "../../lab/run/identity.js";
import { sweepRowIdentity, type SweepSettings } from "../../lab/sweep/identity.js";
import type { StepReport } from "../../lab/train/metrics.js";
import type { IRGraph } from "../../language/ir/types.js";
import {
  buildVariant,
  loadProgram,
  parseSets,
  pickDeclaration,
  pickNetwork,
  type Program,
} from "../../language/program.js";
import {
  allParts,
  crossProduct,
  parseAxis,
  type Axis,
  type Variant,
} from "../../lab/sweep/axes.js";
import { withArgs } from "../../language/variant.js";
import { appendResult, readResults, type SweepRecord } from "../../lab/sweep/results.js";
import { mergeResults, parseShard } from "../../lab/sweep/merge.js";
import { formatCsv, formatTable } from "../../lab/sweep/table.js";
import { aggregateSeeds } from "../../lab/sweep/aggregate.js";
import { atomicWrite, FileProblem, removeFile } from "../../util/files.js";
import { Exit, type IO } from "../io.js";
import { report } from "../report.js";
import { outPathRefused } from "../outPath.js";

export const measures = ["params", "macs", "latency", "train"] as const;
type Measure = (typeof measures)[number];

export interface SweepOptions {
  readonly network?: string;
  readonly experiment?: string;
  readonly sweep?: readonly string[];
  readonly set?: readonly string[];
  readonly measure: string;
  readonly snap?: boolean;
  readonly backend: BackendChoice;
  readonly batch: string;
  readonly runs: string;
  readonly config?: string;
  readonly data?: string;
  readonly epochs?: string;
  readonly limit?: string;
  readonly valLimit?: string;
  readonly seed: string;
  readonly json?: boolean;
  readonly strategy?: string;
  readonly csv?: boolean;
  readonly plot?: string;
  readonly out?: string;
  readonly fresh?: boolean;
  readonly seeds?: string;
  readonly threads?: string;
  readonly quiet?: boolean;
  /** --engine torch trains each variant with PyTorch (lab/torch). */
  readonly engine?: string;
  readonly python?: string;
  /** I/N: only every N-th variant from the I-th (a job array's share). */
  readonly shard?: string;
  /** Shard folders whose results to join instead of measuring. */
  readonly merge?: readonly string[];
}

interface Planned {
  readonly variants: Variant[];
  readonly axes: string[];
  readonly configFor: (i: number) => TrainConfig | undefined;
}

function posInt(io: IO, name: string, text: string | undefined): number | undefined | null {
  if (text === undefined) return undefined;
  const n = integerFlag(name, text, 1);
  if (typeof n === "number") return n;
  io.err(`archc sweep: ${n.error}`);
  return null;
}

function plan(program: Program, opts: SweepOptions): Planned | Diagnostic[] {
  const file = program.loaded.root?.file ?? "<spec>";
  const sets = parseSets(opts.set ?? []);
  if (sets.diagnostics.length) return sets.diagnostics;
  if (opts.experiment) {
    const x = pickDeclaration(program, "experiment", opts.experiment);
    if ("code" in x) return [x];
    const variants = experimentVariants(x).map((v) => withArgs(v, sets.args));
    return {
      variants,
      axes: x.sweep.length ? x.sweep.map((s) => s.axis) : ["model"],
      configFor: (i) => {
        const name = trainConfigNameFor(x, i);
        return name ? program.trains.get(name) : undefined;
      },
    };
  }
  const net = pickNetwork(program, opts.network);
  if ("code" in net) return [net];
  if (!opts.sweep?.length)
    return [
      error(
        "E0601",
        syntheticSpan(file),
        "nothing to sweep",
        "add e.g. --sweep parts=1,2,4,depthwise (or --experiment NAME)",
      ),
    ];
  const axes: Axis[] = [];
  for (const text of opts.sweep) {
    const a = parseAxis(text, net);
    if ("code" in a) return [a];
    if (a.values.length === 1 && a.values[0]!.t === "symbol" && a.values[0]!.v === "all") {
      const values = allParts(program, net, a.name, sets.args);
      if (!values.length)
        return [
          error(
            "E0601",
            syntheticSpan(`--sweep ${text}`),
            `no value of ${a.name} is valid for every layer of ${net.name.name}`,
          ),
        ];
      axes.push({ name: a.name, values });
    } else axes.push(a);
  }
  const config = opts.config
    ? pickDeclaration(program, "config", opts.config)
    : program.trains.size === 1
      ? [...program.trains.values()][0]
      : undefined;
  if (config && "code" in config) return [config];
  return {
    variants: crossProduct(net, axes, sets.args),
    axes: axes.map((a) => a.name),
    configFor: () => config,
  };
}

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
 * Moves a network along one or more axes — the partition continuum first of all — compiling each
 * variant once and measuring what was asked. Results stream to DIR/results.jsonl; a sweep run
 * again with the same folder skips what is already there.
 */
export async function sweepCommand(io: IO, file: string, opts: SweepOptions): Promise<number> {
  if (
    outPathRefused(io, "sweep -o", opts.out, "folder") ||
    outPathRefused(io, "sweep --plot", opts.plot)
  )
    return Exit.usage;
  const wanted = opts.measure.split(",").map((m) => m.trim()) as Measure[];
  const bad = wanted.find((m) => !measures.includes(m));
  if (bad) {
    io.err(`archc sweep: unknown measure '${bad}'; choose from ${measures.join(", ")}`);
    return Exit.usage;
  }
  const batch = posInt(io, "batch", opts.batch);
  const runs = posInt(io, "runs", opts.runs);
  const threads = posInt(io, "threads", opts.threads);
  const epochs = posInt(io, "epochs", opts.epochs);
  const limit = posInt(io, "limit", opts.limit);
  const valLimit = posInt(io, "val-limit", opts.valLimit);
  const seeds = posInt(io, "seeds", opts.seeds);
  const seed = integerFlag("seed", opts.seed ?? "0", 0);
  if (typeof seed !== "number") io.err(`archc sweep: ${seed.error}`);
  if (
    [batch, runs, epochs, limit, valLimit, seeds, threads].includes(null) ||
    typeof seed !== "number"
  )
    return Exit.usage;
  if (opts.json && opts.csv) {
    io.err("archc sweep: choose --json or --csv, not both");
    return Exit.usage;
  }
  const shard = opts.shard === undefined ? undefined : parseShard(opts.shard);
  if (typeof shard === "string") {
    io.err(`archc sweep: ${shard}`);
    return Exit.usage;
  }
  const program = loadProgram(file);
  if (program.diagnostics.length) return report(io, program, program.diagnostics, opts.json);
  const planned = plan(program, opts);
  if (Array.isArray(planned)) return report(io, program, planned, opts.json);
  const { variants, axes } = planned;
  const numbers: Numbers = {
    batch: batch ?? undefined,
    runs: runs ?? undefined,
    epochs: epochs ?? undefined,
    limit: limit ?? undefined,
    valLimit: valLimit ?? undefined,
    seeds: seeds ?? 1,
    seed,
    threads: threads ?? undefined,
  };
  if (opts.merge?.length) {
    // Each row a shard holds must be the row this command would measure, identity and all.
    const settings = sweepSettings(
      opts,
      wanted,
      specHash(program.loaded.modules.map((m) => m.text)),
      numbers,
    );
    const expected = variants.flatMap((v, i) =>
      seedsOf(wanted, numbers).map((seed) => ({
        label: v.label,
        ...(seed !== undefined && numbers.seeds > 1 ? { seed } : {}),
        identity: sweepRowIdentity(
          settings,
          v,
          planned.configFor(i) ?? fallbackTrainConfig,
          seed ?? numbers.seed,
        ),
      })),
    );
    const merged = mergeResults(opts.merge, expected);
    for (const p of merged.problems) io.err(`archc sweep --merge: ${p}`);
    if (opts.out) {
      const lines = merged.records.map((r) => JSON.stringify(r) + "\n").join("");
      atomicWrite(join(opts.out, "results.jsonl"), lines);
    }
    await printResults(io, opts, merged.records, axes, opts.out ?? "");
    return merged.problems.length ? Exit.diagnostics : Exit.ok;
  }
  const outDir =
    opts.out ?? join("runs", `sweep-${opts.experiment ?? variants[0]?.network ?? "network"}`);
  const runMod = await import("../../lab/run/index.js");
  let lock;
  try {
    lock = runMod.acquireLock(outDir, "sweep");
  } catch (e) {
    if (e instanceof runMod.LockError) {
      io.err(`archc sweep: ${e.message}`);
      return Exit.diagnostics;
    }
    throw e;
  }
  try {
    return await sweepLocked(io, file, program, opts, planned, wanted, outDir, numbers);
  } finally {
    runMod.releaseLock(lock);
  }
}

interface Numbers {
  readonly batch: number | undefined;
  readonly runs: number | undefined;
  readonly epochs: number | undefined;
  readonly limit: number | undefined;
  readonly valLimit: number | undefined;
  readonly seeds: number;
  /** The first seed; with --seeds N, the seeds are seed .. seed + N - 1. */
  readonly seed: number;
  readonly threads: number | undefined;
}

/** Repeated seeds only change trained numbers; params, MACs and latency are measured once. */
function seedsOf(wanted: readonly Measure[], n: Numbers): (number | undefined)[] {
  return wanted.includes("train")
    ? Array.from({ length: n.seeds }, (_, i) => n.seed + i)
    : [undefined];
}

/** The flags that decide what every row of the sweep measures (lab/sweep/identity.ts). */
function sweepSettings(
  opts: SweepOptions,
  wanted: readonly Measure[],
  spec: string,
  n: Numbers,
): SweepSettings {
  return {
    spec,
    measures: wanted,
    snap: opts.snap ?? false,
    ...(opts.engine === "torch" ? { engine: "torch" } : {}),
    latency: {
      backend: opts.backend,
      batch: n.batch ?? 1,
      runs: n.runs ?? 5,
      strategy: opts.strategy ?? "auto",
    },
    train: {
      ...(n.epochs !== undefined ? { epochs: n.epochs } : {}),
      ...(opts.data !== undefined ? { data: opts.data } : {}),
      ...(n.limit !== undefined ? { limit: n.limit } : {}),
      ...(n.valLimit !== undefined ? { valLimit: n.valLimit } : {}),
    },
  };
}

async function sweepLocked(
  io: IO,
  file: string,
  program: Program,
  opts: SweepOptions,
  planned: Planned,
  wanted: readonly Measure[],
  outDir: string,
  n: Numbers,
): Promise<number> {
  const { variants, axes } = planned;
  const { batch, runs, epochs, limit, valLimit, threads } = n;
  const runMod = await import("../../lab/run/index.js");
  if (opts.fresh) removeFile(join(outDir, "results.jsonl"), outDir);
  const done = readResults(outDir);
  const needsTf = wanted.includes("latency") || wanted.includes("train");
  const tfjs = needsTf ? await import("../../backends/tfjs/model.js") : undefined;
  const session = wanted.includes("train") ? await import("../../lab/train/session.js") : undefined;
  let backendName = "";
  if (tfjs) {
    const quiet = !!(opts.json || opts.csv || opts.quiet);
    const b = await startBackend(io, "sweep", opts.backend, threads ?? undefined, quiet);
    if ("exit" in b) return b.exit;
    backendName = b.name;
  }
  const seed0 = n.seed;
  const seedList = seedsOf(wanted, n);
  const { variantBar } = await import("../progress.js");
  const bar = opts.quiet ? undefined : variantBar(io, variants.length * seedList.length);
  let stop = false;
  let interrupted = false;
  const onSignal = () => {
    if (stop) process.exit(Exit.interrupted);
    stop = true;
    io.err(
      wanted.includes("train")
        ? "\narchc sweep: stopping after this step and writing a checkpoint (Ctrl-C again to quit now)"
        : "\narchc sweep: stopping after this variant (Ctrl-C again to quit now)",
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const spec = runMod.specHash(program.loaded.modules.map((m) => m.text));
  const settings = sweepSettings(opts, wanted, spec, n);
  const records: SweepRecord[] = [];
  try {
    // Checked in sweepCommand: a message here cannot happen.
    const share = opts.shard === undefined ? undefined : parseShard(opts.shard);
    outer: for (const [i, v] of variants.entries()) {
      if (typeof share === "object" && i % share.of !== share.index) continue;
      for (const seed of seedList) {
        const config = planned.configFor(i) ?? fallbackTrainConfig;
        const identity = sweepRowIdentity(settings, v, config, seed ?? seed0);
        const key = runMod.identityHash(identity);
        const prior = done.get(key);
        if (prior) {
          records.push({ ...prior, cached: true });
          bar?.tick(v.label, true);
          continue;
        }
        if (stop) break outer;
        const built = buildVariant(program, v, { snap: opts.snap ?? false });
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
          ...(seed !== undefined && n.seeds > 1 ? { seed } : {}),
        };
        let record: SweepRecord;
        if (!built.ok) {
          const d = built.diagnostics[0]!;
          record = { ...head, error: { code: d.code, message: d.message } };
          io.err(`${v.label}: ${d.code} ${d.message}${d.hint ? ` (${d.hint})` : ""}`);
        } else {
          const g = built.graph;
          let r: SweepRecord = {
            ...head,
            ...(partsX(g, v.point) !== undefined ? { partsX: partsX(g, v.point)! } : {}),
            params: g.totals.params.total,
            trainable: g.totals.params.trainable,
            macs: g.totals.macs,
            ...(built.snapped.length ? { snapped: built.snapped } : {}),
          };
          try {
            if (tfjs && wanted.includes("latency")) {
              r = {
                ...r,
                latency: await measureLatency(tfjs, g, batch ?? 1, runs ?? 5, backendName),
              };
            }
            if (session) {
              const folder =
                session.runFolderName(v.label) + (n.seeds > 1 ? `-seed${seed ?? seed0}` : "");
              // The variant's folder continues when it holds this very run (a sweep killed
              // mid-training, or between its last checkpoint and its results line), and starts
              // over otherwise. Its checkpoint holds the history the results line is made from.
              const trainer =
                opts.engine === "torch"
                  ? (await import("../../lab/torch/engine.js")).trainTorchWith(
                      opts.python ? { python: opts.python } : {},
                    )
                  : session.trainNetwork;
              const res = await trainer({
                graph: g,
                config,
                outDir: join(outDir, folder),
                seed: seed ?? seed0,
                mode: "auto",
                identity: { spec },
                command: "sweep",
                source: {
                  file: resolve(file),
                  network: v.network,
                  point: Object.fromEntries(v.point) as unknown as Json,
                },
                ...(opts.data ? { data: opts.data } : {}),
                ...(epochs ? { epochs } : {}),
                ...(limit ? { limit } : {}),
                ...(valLimit ? { valLimit } : {}),
                shouldStop: () => stop,
                ...(opts.strategy ? { strategy: opts.strategy } : {}),
                ...(bar ? { onStep: (r: StepReport) => bar.step(v.label, r) } : {}),
              });
              if (res.interrupted) {
                interrupted = true;
                break outer;
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
                    seconds: res.history.reduce((s, h) => s + h.seconds, 0),
                    imagesPerSec: last.imagesPerSec,
                  },
                };
              }
            }
          } catch (e) {
            if (
              e instanceof runMod.LockError ||
              e instanceof runMod.RunError ||
              e instanceof runMod.CheckpointError ||
              e instanceof FileProblem ||
              (e instanceof Error && e.name === "TorchEngineError" && /Python/.test(e.message))
            ) {
              io.err(`archc sweep: ${e.message}`);
              return Exit.diagnostics;
            }
            const message = e instanceof Error ? e.message.split("\n")[0]! : String(e);
            r = { ...r, error: { code: "run", message } };
            io.err(`${v.label}: ${message}`);
          }
          record = r;
        }
        appendResult(outDir, record);
        records.push(record);
        bar?.tick(v.label, false);
      }
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    bar?.stop();
  }
  await printResults(io, opts, records, axes, outDir);
  if (interrupted || stop) {
    io.err(
      `archc sweep: stopped; ${records.length} of ${variants.length * seedList.length} rows in ${join(outDir, "results.jsonl")}. Run the same command again to continue`,
    );
    return Exit.interrupted;
  }
  return records.some((r) => r.error) && records.every((r) => r.error) ? Exit.diagnostics : Exit.ok;
}

async function measureLatency(
  modelMod: typeof import("../../backends/tfjs/model.js"),
  graph: IRGraph,
  batch: number,
  runs: number,
  backend: string,
): Promise<NonNullable<SweepRecord["latency"]>> {
  const { timeForward } = await import("../../backends/tfjs/timing.js");
  const m = modelMod.buildModelFromIR(graph);
  try {
    return { backend, batch, ...(await timeForward(m, graph.input, batch, runs, 2)), runs };
  } finally {
    m.dispose();
  }
}

/** The table (or JSON, CSV) and the plot of a sweep's rows: measured here or merged from shards. */
async function printResults(
  io: IO,
  opts: SweepOptions,
  records: SweepRecord[],
  axes: string[],
  outDir: string,
): Promise<void> {
  // Over several seeds (rows carry their seed), the table and plots show each variant's mean
  // and spread; --json gives both the rows and the summary.
  const shown = records.some((r) => r.seed !== undefined) ? aggregateSeeds(records) : records;
  if (opts.json)
    io.out(
      JSON.stringify(
        { axes, outDir, results: records, ...(shown !== records ? { summary: shown } : {}) },
        null,
        2,
      ),
    );
  else if (opts.csv) io.out(formatCsv(shown, axes));
  else io.out(formatTable(shown, axes));
  if (opts.plot) {
    const { plotSweep, svgToPng } = await import("../../lab/sweep/plot.js");
    const svg = await plotSweep(shown, axes);
    atomicWrite(opts.plot, opts.plot.endsWith(".png") ? await svgToPng(svg) : svg);
    if (!opts.json && !opts.csv && !opts.quiet) io.err(`wrote ${opts.plot}`);
  }
}
