import { join } from "node:path";
import type { BackendChoice } from "../../backends/tfjs/choices.js";
import type { Program } from "../../language/program.js";
import { parseMeasures, measures } from "../../lab/experiment/measures.js";
import type { ExperimentPlan } from "../../lab/experiment/plan.js";
import type { ExperimentSettings } from "../../lab/experiment/runner.js";
import { aggregateSeeds } from "../../lab/sweep/aggregate.js";
import { mergeResults, parseShard } from "../../lab/sweep/merge.js";
import type { SweepRecord } from "../../lab/sweep/results.js";
import { formatCsv, formatTable } from "../../lab/sweep/table.js";
import { atomicWrite } from "../../util/atomicWrite.js";
import { integerFlag } from "../../util/integerFlag.js";
import { startBackend, torchThreads } from "../backend.js";
import { Exit, type IO } from "../io.js";
import type { GroupOption, OptionValues } from "../options.js";
import { outPathRefused, plotFormat, plotPathRefused } from "../outPath.js";
import { parseRunFlags } from "../runFlags.js";
import { folderReportJson, printFolderReport } from "./report.js";

/** The options sweep and search share (main.ts: experimentCommand). */
export type ExperimentOptions = OptionValues<
  | "set"
  | "measure"
  | "snap"
  | "threads"
  | "strategy"
  | "runs"
  | "config"
  | GroupOption<"training">
  | "seeds"
  | "quiet"
  | "json"
  | "csv"
  | "plot"
  | "out"
  | "python"
  | "shard"
  | "merge"
  | "fresh"
> & { readonly backend: BackendChoice; readonly engine: string };

/** What the flags say, checked: the settings without the folder and backend yet. */
export type ParsedFlags = Omit<ExperimentSettings, "file" | "outDir" | "backendName"> & {
  /** wasm backend threads. */
  readonly threads?: number;
};

/**
 * The shared flags as settings, or the exit code after saying what is wrong with them (usage).
 * `command` names the command in messages.
 */
export function parseExperimentFlags(
  io: IO,
  command: string,
  opts: ExperimentOptions,
): ParsedFlags | number {
  if (
    outPathRefused(io, `${command} -o`, opts.out, "folder") ||
    plotPathRefused(io, `${command} --plot`, opts.plot)
  )
    return Exit.usage;
  const wanted = parseMeasures(opts.measure);
  if ("unknown" in wanted) {
    io.err(
      `archc ${command}: unknown measure '${wanted.unknown}'; choose from ${measures.join(", ")}`,
    );
    return Exit.usage;
  }
  let bad = false;
  const int = (name: string, text: string | undefined, min = 1): number | undefined => {
    if (text === undefined) return undefined;
    const n = integerFlag(name, text, min);
    if (typeof n === "number") return n;
    io.err(`archc ${command}: ${n.error}`);
    bad = true;
    return undefined;
  };
  const batch = int("batch", opts.batch);
  const runs = int("runs", opts.runs);
  const threads = int("threads", opts.threads);
  const workers = int("workers", opts.workers, 0);
  const epochs = int("epochs", opts.epochs);
  const steps = int("steps", opts.steps);
  const limit = int("limit", opts.limit);
  const valLimit = int("val-limit", opts.valLimit);
  const seeds = int("seeds", opts.seeds);
  const seed = int("seed", opts.seed, 0);
  const lr = opts.lr === undefined ? undefined : Number(opts.lr);
  if (lr !== undefined && !(Number.isFinite(lr) && lr > 0)) {
    io.err(`archc ${command}: --lr must be a positive finite number, not '${opts.lr}'`);
    bad = true;
  }
  const run = parseRunFlags(opts);
  if (typeof run === "string") {
    io.err(`archc ${command}: ${run}`);
    bad = true;
  }
  if (bad || typeof run === "string") return Exit.usage;
  if (epochs !== undefined && steps !== undefined) {
    io.err(`archc ${command}: give --epochs or --steps (a budget in steps), not both`);
    return Exit.usage;
  }
  if (opts.json && opts.csv) {
    io.err(`archc ${command}: choose --json or --csv, not both`);
    return Exit.usage;
  }
  const shard = opts.shard === undefined ? undefined : parseShard(opts.shard);
  if (typeof shard === "string") {
    io.err(`archc ${command}: ${shard}`);
    return Exit.usage;
  }
  const engine = opts.engine === "torch" ? "torch" : "tfjs";
  return {
    measures: wanted,
    snap: opts.snap ?? false,
    backend: opts.backend,
    ...(batch !== undefined ? { latencyBatch: batch, batch } : {}),
    ...(runs !== undefined ? { runs } : {}),
    ...(threads !== undefined ? { threads } : {}),
    ...(workers !== undefined ? { workers } : {}),
    ...(opts.strategy !== undefined ? { strategy: opts.strategy } : {}),
    ...(epochs !== undefined ? { epochs } : {}),
    ...(steps !== undefined ? { steps } : {}),
    ...(lr !== undefined ? { lr } : {}),
    ...(opts.data !== undefined ? { data: opts.data } : {}),
    ...(limit !== undefined ? { limit } : {}),
    ...(valLimit !== undefined ? { valLimit } : {}),
    ...run,
    seed: seed ?? 0,
    seeds: seeds ?? 1,
    engine,
    ...(opts.python !== undefined ? { python: opts.python } : {}),
    ...(shard !== undefined ? { shard } : {}),
    ...(opts.fresh ? { fresh: true } : {}),
  };
}

/**
 * Runs a planned experiment through the lab's engine and prints its rows: locks the folder,
 * starts the tfjs backend when a measure needs it, shows progress, reports Ctrl-C. With --merge,
 * joins shard folders instead of measuring. Sweep and search differ only in their planner.
 */
export async function runPlanned(
  io: IO,
  command: string,
  file: string,
  program: Program,
  plan: ExperimentPlan,
  flags: ParsedFlags,
  opts: ExperimentOptions,
  extra: (records: readonly SweepRecord[]) => Record<string, unknown> = () => ({}),
  /**
   * Run with the folder locked and the backend started, before any row: the plan to measure
   * (a search's latency screening), or the exit code to stop with. It does what --fresh asks.
   */
  prepare?: (settings: ExperimentSettings) => Promise<ExperimentPlan | number>,
): Promise<number> {
  const { axes } = plan;
  if (opts.merge?.length) {
    // A shard's row is taken only when it is the row this command would measure, identity and all.
    const { expectedRows } = await import("../../lab/experiment/runner.js");
    const { threads: _t, ...asked } = flags;
    const settings: ExperimentSettings = {
      ...asked,
      file,
      outDir: opts.out ?? "",
      backendName: "",
    };
    const merged = mergeResults(opts.merge, expectedRows(program, plan, settings));
    for (const p of merged.problems) io.err(`archc ${command} --merge: ${p}`);
    if (opts.out) {
      const lines = merged.records.map((r) => JSON.stringify(r) + "\n").join("");
      atomicWrite(join(opts.out, "results.jsonl"), lines);
    }
    await printResults(io, opts, merged.records, axes, opts.out ?? "", extra(merged.records));
    if (opts.out) await afterExperiment(io, opts.out, opts);
    return merged.problems.length ? Exit.diagnostics : Exit.ok;
  }
  const outDir = opts.out ?? join("runs", plan.name);
  const engine = await import("../../lab/experiment/runner.js");
  const quiet = !!(opts.json || opts.csv || opts.quiet);
  let backendName = "";
  let backendThreads: number | undefined;
  // tfjs runs latency, and training on the embedded engine; the torch engine names its own
  // Python and torch, so a torch-only sweep starts no tfjs backend and prints no backend line.
  const onTfjs = flags.engine !== "torch";
  if ((flags.measures.includes("latency") || flags.measures.includes("train")) && onTfjs) {
    const b = await startBackend(io, command, opts.backend, flags.threads, quiet);
    if ("exit" in b) return b.exit;
    backendName = b.name;
    backendThreads = b.threads;
  }
  const { threads, ...measuring } = flags;
  const settings: ExperimentSettings = {
    ...measuring,
    ...(flags.engine === "torch" && threads !== undefined
      ? { torchThreads: torchThreads(io, command, threads) }
      : {}),
    file,
    outDir,
    backendName,
    ...(backendThreads !== undefined ? { backendThreads } : {}),
  };
  const { variantBar } = await import("../progress.js");
  try {
    return await engine.withFolderLock(outDir, command, async () => {
      const prepared = prepare ? await prepare(settings) : plan;
      if (typeof prepared === "number") return prepared;
      const measured = prepare ? { ...settings, fresh: false } : settings;
      const bar = opts.quiet ? undefined : variantBar(io, engine.plannedRows(prepared, measured));
      let outcome;
      try {
        outcome = await engine.runExperiment(program, prepared, measured, {
          onRow: (label, cached) => bar?.tick(label, cached),
          ...(bar ? { onStep: (label, r) => bar.step(label, r) } : {}),
          onFailure: (label, message) => io.err(`${label}: ${message}`),
          onWarning: (label, message) => {
            if (!opts.quiet) io.err(`${label}: warning: ${message}`);
          },
          onStopping: () => {
            // Nothing is drawn after the stop message: the bar closes first, for good.
            bar?.halt();
            io.err(
              flags.measures.includes("train")
                ? `\narchc ${command}: stopping after this step and writing a checkpoint (Ctrl-C again to quit now)`
                : `\narchc ${command}: stopping after this variant (Ctrl-C again to quit now)`,
            );
          },
        });
      } finally {
        bar?.stop();
      }
      const { records } = outcome;
      await printResults(io, opts, records, axes, outDir, extra(records));
      await afterExperiment(io, outDir, opts);
      if (outcome.interrupted) {
        io.err(
          `archc ${command}: stopped; ${records.length} of ${outcome.planned} rows in ${outcome.resultsPath}. Run the same command again to continue`,
        );
        return Exit.interrupted;
      }
      return records.some((r) => r.error) && records.every((r) => r.error)
        ? Exit.diagnostics
        : Exit.ok;
    });
  } catch (e) {
    if (!engine.isFatal(e)) throw e;
    io.err(`archc ${command}: ${e.message}`);
    return Exit.diagnostics;
  }
}

/**
 * Called once a sweep or search has finished with its results in `outDir` (results.jsonl): the
 * report of lab/report (Pareto fronts, effects, noise) after the table, when accuracy was
 * measured. --json carries it inside the results object instead (printResults); --csv is rows only.
 */
export async function afterExperiment(
  io: IO,
  outDir: string,
  opts: ExperimentOptions,
): Promise<void> {
  if (opts.json || opts.csv || !outDir) return;
  await printFolderReport(io, outDir);
}

/** The table (or JSON, CSV) and the plot of an experiment's rows: measured here or merged from shards. */
export async function printResults(
  io: IO,
  opts: ExperimentOptions,
  records: SweepRecord[],
  axes: readonly string[],
  outDir: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  // Over several seeds (rows carry their seed), the table and plots show each variant's mean
  // and spread; --json gives both the rows and the summary.
  const shown = records.some((r) => r.seed !== undefined) ? aggregateSeeds(records) : records;
  // The report of everything the folder holds, once accuracy was measured.
  const report = opts.json && outDir ? await folderReportJson(outDir) : undefined;
  if (opts.json)
    io.out(
      JSON.stringify(
        {
          axes,
          outDir,
          results: records,
          ...(shown !== records ? { summary: shown } : {}),
          ...extra,
          ...(report ? { report } : {}),
        },
        null,
        2,
      ),
    );
  else if (opts.csv) io.out(formatCsv(shown, [...axes]));
  else io.out(formatTable(shown, [...axes]));
  if (opts.plot) {
    const { plotSweep, svgToPng } = await import("../../lab/sweep/plot.js");
    const svg = await plotSweep(shown, [...axes]);
    atomicWrite(opts.plot, plotFormat(opts.plot) === "png" ? await svgToPng(svg) : svg);
    if (!opts.json && !opts.csv && !opts.quiet) io.err(`wrote ${opts.plot}`);
  }
}
