import type { IRGraph } from "../language/ir/types.js";
import {
  buildNetwork,
  loadProgram,
  parseSets,
  pickNetwork,
  type Program,
} from "../language/program.js";
import type { IO } from "./io.js";
import { report } from "./report.js";

export interface BuildOptions {
  readonly network?: string;
  readonly set?: readonly string[];
  readonly json?: boolean;
}

/** The steps every command that needs one network shares: load, resolve, pick, elaborate. */
export function buildFromCli(
  io: IO,
  file: string,
  opts: BuildOptions,
): { graph: IRGraph; program: Program } | { exit: number } {
  const program = loadProgram(file);
  if (program.diagnostics.length)
    return { exit: report(io, program, program.diagnostics, opts.json) };
  const sets = parseSets(opts.set ?? []);
  if (sets.diagnostics.length) return { exit: report(io, program, sets.diagnostics, opts.json) };
  const net = pickNetwork(program, opts.network);
  if ("code" in net) return { exit: report(io, program, [net], opts.json) };
  const built = buildNetwork(program, net, sets.args);
  if (!built.ok) return { exit: report(io, program, built.diagnostics, opts.json) };
  return { graph: built.graph, program };
}
