import { formatSummary, summarize } from "../../backends/summary/summary.js";
import { buildFromCli, type BuildOptions } from "../build.js";
import { Exit, type IO } from "../io.js";

export function summaryCommand(io: IO, file: string, opts: BuildOptions): number {
  const r = buildFromCli(io, file, opts);
  if ("exit" in r) return r.exit;
  io.out(opts.json ? JSON.stringify(summarize(r.graph), null, 2) : formatSummary(r.graph));
  return Exit.ok;
}
