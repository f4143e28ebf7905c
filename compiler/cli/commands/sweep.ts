import { planSweep } from "../../lab/experiment/sweep.js";
import { loadProgram } from "../../language/program.js";
import type { IO } from "../io.js";
import type { OptionValues } from "../options.js";
import { report } from "../report.js";
import { parseExperimentFlags, runPlanned, type ExperimentOptions } from "./experiment.js";

export type SweepOptions = ExperimentOptions & OptionValues<"network" | "experiment" | "sweep">;

/**
 * Moves a network along one or more axes — the partition continuum first of all — and measures
 * each point through the lab's experiment engine. Results stream to DIR/results.jsonl; a sweep
 * run again with the same folder skips what is already there.
 */
export async function sweepCommand(io: IO, file: string, opts: SweepOptions): Promise<number> {
  const flags = parseExperimentFlags(io, "sweep", opts);
  if (typeof flags === "number") return flags;
  const program = loadProgram(file);
  if (program.diagnostics.length) return report(io, program, program.diagnostics, opts.json);
  const plan = planSweep(program, {
    ...(opts.network !== undefined ? { network: opts.network } : {}),
    ...(opts.experiment !== undefined ? { experiment: opts.experiment } : {}),
    ...(opts.config !== undefined ? { config: opts.config } : {}),
    sweep: opts.sweep,
    set: opts.set,
    training: flags.measures.includes("train"),
  });
  if (Array.isArray(plan)) return report(io, program, plan, opts.json);
  return runPlanned(io, "sweep", file, program, plan, flags, opts);
}
