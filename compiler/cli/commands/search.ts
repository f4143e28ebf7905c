import { planSearch } from "../../lab/experiment/search.js";
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
  });
  if (Array.isArray(plan)) return report(io, program, plan, opts.json);
  if (!opts.json && !opts.csv && !opts.quiet)
    io.err(
      `search: ${plan.feasible} feasible of ${plan.space} configurations${plan.invalid ? ` (${plan.invalid} do not elaborate)` : ""}; measuring ${plan.variants.length}`,
    );
  return runPlanned(io, "search", file, program, plan, flags, opts, (records) => ({
    rows: records.map((r) => ({ args: argsOf(r), cached: r.cached ?? false, ...r })),
    feasible: plan.feasible,
    space: plan.space,
    invalid: plan.invalid,
    constraints: plan.constraints.map((c) => c.text),
  }));
}
