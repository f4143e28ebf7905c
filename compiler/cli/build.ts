import type { BoundArg } from "../language/elaborate/bind.js";
import type { IRGraph } from "../language/ir/types.js";
import {
  buildNetwork,
  loadProgram,
  parseSets,
  pickNetwork,
  type Program,
} from "../language/program.js";
import { Exit, type IO } from "./io.js";
import { report } from "./report.js";

export interface BuildOptions {
  readonly network?: string;
  readonly set?: readonly string[];
  readonly json?: boolean;
  /** `--max-layers`: the most layers the network may elaborate to. */
  readonly maxLayers?: string;
}

/**
 * `--max-layers N` as a number, undefined when not given, or a message for the user when it is
 * not a positive integer.
 */
export function maxLayersOf(text: string | undefined): number | undefined | { error: string } {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text)))
    return { error: `--max-layers takes a positive integer, not '${text}'` };
  return Number(text);
}

/** The steps every command that needs one network shares: load, resolve, pick, elaborate. */
export function buildFromCli(
  io: IO,
  file: string,
  opts: BuildOptions,
): { graph: IRGraph; program: Program; sets: readonly BoundArg[] } | { exit: number } {
  const maxLayers = maxLayersOf(opts.maxLayers);
  if (typeof maxLayers === "object") {
    io.err(`archc: ${maxLayers.error}`);
    return { exit: Exit.usage };
  }
  const program = loadProgram(file);
  if (program.diagnostics.length)
    return { exit: report(io, program, program.diagnostics, opts.json) };
  const sets = parseSets(opts.set ?? []);
  if (sets.diagnostics.length) return { exit: report(io, program, sets.diagnostics, opts.json) };
  const net = pickNetwork(program, opts.network);
  if ("code" in net) return { exit: report(io, program, [net], opts.json) };
  const built = buildNetwork(program, net, sets.args, maxLayers ? { maxLayers } : {});
  if (!built.ok) return { exit: report(io, program, built.diagnostics, opts.json) };
  // The --set values with their kinds (2.0 is a float), which the graph's JSON arguments lose.
  return { graph: built.graph, program, sets: sets.args };
}
