import { join } from "node:path";
import type { ExperimentSettings } from "../../lab/experiment/runner.js";
import type { ScreenReport } from "../../lab/experiment/screen.js";
import { planSearch, type SearchPlan } from "../../lab/experiment/search.js";
import type { LatencyConstraint } from "../../language/config/constraints.js";
import type { SweepRecord } from "../../lab/sweep/results.js";
import { toJson, type Json, type Value } from "../../language/elaborate/values.js";
import { loadProgram } from "../../language/program.js";
import { integerFlag } from "../../util/integerFlag.js";
import { Exit, type IO } from "../io.js";
import type { OptionValues } from "../options.js";
import { report } from "../report.js";
import { parseExperimentFlags, runPlanned, type ExperimentOptions } from "./experiment.js";

export type SearchOptions = ExperimentOptions &
  OptionValues<"network" | "experiment" | "sweep" | "where" | "samples">;

/** A row's arguments as plain JSON (`{"p1": 4, "p2": "depthwise"}`), from its identity's Values. */
function argsOf(r: SweepRecord): Record<string, Json> {
  const args = (r.identity?.["args"] ?? {}) as unknown as Record<string, Value>;
  return Object.fromEntries(Object.entries(args).map(([k, v]) => [k, toJson(v)]));
}

/**
 * Searches a design space: every configuration is summarised from the compiler's exact counts
 * (no model is built), the constraints keep the feasible ones, `--samples` of them are drawn
 * uniformly by `--seed`, and each is measured by the same engine as a sweep.
 */
export async function searchCommand(io: IO, file: string, opts: SearchOptions): Promise<number> {
  const flags = parseExperimentFlags(io, "search", opts);
  if (typeof flags === "number") return flags;
  const samples = opts.samples === undefined ? undefined : integerFlag("samples", opts.samples, 1);
  if (typeof samples === "object") {
    io.err(`archc search: ${samples.error}`);
    return Exit.usage;
  }
  const program = loadProgram(file);
  if (program.diagnostics.length) return report(io, program, program.diagnostics, opts.json);
  const plan = planSearch(program, {
    ...(opts.network !== undefined ? { network: opts.network } : {}),
    ...(opts.experiment !== undefined ? { experiment: opts.experiment } : {}),
    ...(opts.config !== undefined ? { config: opts.config } : {}),
    ...(samples !== undefined ? { samples } : {}),
    // An experiment's own seed holds unless --seed is given (its default, 0, is the same).
    ...(opts.experiment === undefined || opts.seed !== "0" ? { seed: flags.seed } : {}),
    sweep: opts.sweep,
    set: opts.set,
    where: opts.where,
    training: flags.measures.includes("train"),
    snap: opts.snap ?? false,
  });
  if (Array.isArray(plan)) return report(io, program, plan, opts.json);
  const quiet = !!(opts.json || opts.csv || opts.quiet);
  const invalid = plan.invalid ? ` (${plan.invalid} do not elaborate)` : "";
  const screening = plan.screening;
  if (screening && opts.merge?.length) {
    io.err(
      "archc search: --merge cannot check a latency bound (each shard times on its own machine); merge the shards of a search without --where latency, or run it unsharded",
    );
    return Exit.usage;
  }
  if (!quiet)
    io.err(
      screening
        ? `search: ${plan.feasible} of ${plan.space} configurations${invalid} meet the exact constraints; timing each for ${screening.latency.map((c) => c.text).join(", ")}`
        : `search: ${plan.feasible} feasible of ${plan.space} configurations${invalid}; measuring ${plan.variants.length}`,
    );
  // A latency bound is checked by timing: the rows carry the latency they were screened by.
  const withLatency =
    screening && !flags.measures.includes("latency")
      ? { ...flags, measures: [...flags.measures, "latency" as const] }
      : flags;
  let final = plan;
  let timing: ScreenReport | undefined;
  const prepare = screening
    ? async (settings: ExperimentSettings): Promise<SearchPlan | number> => {
        const { variantBar } = await import("../progress.js");
        const { screenLatency } = await import("../../lab/experiment/screen.js");
        const bar = opts.quiet
          ? undefined
          : variantBar(io, screening.candidates.length, undefined, undefined, {
              task: "latency",
              cache: "latency.jsonl",
            });
        let out;
        try {
          out = await screenLatency(program, plan, settings, {
            onTimed: (label, cached) => bar?.tick(label, cached),
            onStopping: () => {
              bar?.halt();
              io.err("\narchc search: stopping after this timing (Ctrl-C again to quit now)");
            },
          });
        } finally {
          bar?.stop();
        }
        if ("diagnostic" in out) return report(io, program, [out.diagnostic], opts.json);
        if ("interrupted" in out) {
          io.err(
            `archc search: stopped; ${out.timed} of ${out.of} configurations timed (kept in ${join(settings.outDir, "latency.jsonl")}). Run the same command again to continue`,
          );
          return Exit.interrupted;
        }
        final = out.plan;
        timing = out.report;
        if (!quiet) io.err(latencyStatement(out.report, screening.latency));
        return out.plan;
      }
    : undefined;
  return runPlanned(
    io,
    "search",
    file,
    program,
    plan,
    withLatency,
    opts,
    (records) => ({
      rows: records.map((r) => ({ args: argsOf(r), cached: r.cached ?? false, ...r })),
      feasible: final.feasible,
      space: final.space,
      invalid: final.invalid,
      constraints: final.constraints.map((c) => c.text),
      ...(timing ? { latency: { measured: true, ...timing } } : {}),
    }),
    prepare,
  );
}

/**
 * That latency was measured, not counted, and how noisy it is: passes, batch, backend, the
 * spread of each configuration's passes, and how many lie so near a bound that a rerun may move them.
 */
function latencyStatement(r: ScreenReport, bounds: readonly LatencyConstraint[]): string {
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  const cached = r.cached ? ` (${r.cached} timed before, from latency.jsonl)` : "";
  const near = r.nearBound
    ? `; ${r.nearBound} configuration${r.nearBound === 1 ? " has" : "s have"} passes on both sides of a bound, so a rerun may move ${r.nearBound === 1 ? "it" : "them"}`
    : "";
  return (
    `latency is measured, not counted: the median of ${r.runs} timed passes at batch ${r.batch} on ${r.backend}, for each of ${r.timed} configurations${cached}. ` +
    `The slowest pass exceeds the fastest by ${pct(r.spread.median)} of the median typically, ${pct(r.spread.max)} at most${near}. ` +
    `${r.feasible} of ${r.timed} meet ${bounds.map((c) => c.text).join(" and ")}.`
  );
}
