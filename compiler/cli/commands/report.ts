import { integerFlag } from "../../util/integerFlag.js";
import { atomicWrite } from "../../util/atomicWrite.js";
import { Exit, type IO } from "../io.js";
import type { OptionValues } from "../options.js";
import { plotFormat, plotPathRefused } from "../outPath.js";

export type ReportOptions = OptionValues<
  "json" | "sort" | "ascending" | "metric" | "bootstrap" | "seed" | "plot"
>;

/** `archc report DIR`: what a sweep or search found, and how sure (lab/report). */
export async function reportCommand(io: IO, dir: string, opts: ReportOptions): Promise<number> {
  if (plotPathRefused(io, "report --plot", opts.plot)) return Exit.usage;
  const samples = integerFlag("bootstrap", opts.bootstrap, 1);
  const seed = integerFlag("seed", opts.seed, 0);
  for (const n of [samples, seed])
    if (typeof n !== "number") {
      io.err(`archc report: ${n.error}`);
      return Exit.usage;
    }
  const { reportFolder, formatReport } = await import("../../lab/report/index.js");
  const r = reportFolder(dir, {
    samples: samples as number,
    seed: seed as number,
    ...(opts.sort !== undefined ? { sort: opts.sort, ascending: !!opts.ascending } : {}),
    ...(opts.metric !== undefined ? { metric: opts.metric } : {}),
  });
  if (!r.ok) {
    io.err(`archc report: ${r.message}`);
    return r.usage ? Exit.usage : Exit.diagnostics;
  }
  if (opts.plot && !r.report.metric) {
    io.err(
      `archc report: --plot needs an accuracy, and ${r.report.file} has none (--measure train)`,
    );
    return Exit.diagnostics;
  }
  io.out(
    opts.json ? JSON.stringify(r.report, null, 2) : formatReport(r.report, r.columns, r.configs),
  );
  if (opts.plot) await writeReportPlot(io, r.report, opts.plot, !!opts.json);
  return Exit.ok;
}

/** The report's figures to FILE.svg, or FILE.png (rendered by sharp, as the sweep's plot is). */
async function writeReportPlot(
  io: IO,
  report: import("../../lab/report/index.js").Report,
  path: string,
  quiet: boolean,
): Promise<void> {
  const { plotReport } = await import("../../lab/report/plot.js");
  const { svgToPng } = await import("../../lab/sweep/plot.js");
  const svg = await plotReport(report);
  atomicWrite(path, plotFormat(path) === "png" ? await svgToPng(svg) : svg);
  if (!quiet) io.err(`wrote ${path}`);
}

/**
 * The analysis printed when a sweep or search ends, from what its folder now holds: the
 * Pareto fronts, effects and noise sentences (the table was printed already). Nothing when the
 * run measured no accuracy or nothing yet; a damaged file is said in one line and does not
 * change the exit.
 */
export async function printFolderReport(io: IO, dir: string): Promise<void> {
  const { reportFolder, formatAnalysis } = await import("../../lab/report/index.js");
  const r = reportFolder(dir);
  if (!r.ok) {
    if (r.damaged) io.err(`archc report: ${r.message}`);
  } else if (r.report.metric) io.out("\n" + formatAnalysis(r.report));
}

/** The same as JSON, for a sweep's or search's --json output; undefined without an accuracy. */
export async function folderReportJson(dir: string): Promise<unknown> {
  const { reportFolder } = await import("../../lab/report/index.js");
  const r = reportFolder(dir);
  return r.ok && r.report.metric ? r.report : undefined;
}
