import { analyse, ReportUsageError, type AnalysisOptions, type Report } from "./analyse.js";
import type { Column } from "./columns.js";
import type { Configuration } from "./configurations.js";
import { loadResults } from "./load.js";

export { ReportUsageError, type AnalysisOptions, type Report } from "./analyse.js";
export { formatAnalysis, formatReport } from "./format.js";

export type FolderReport =
  | {
      readonly ok: true;
      readonly report: Report;
      readonly columns: readonly Column[];
      readonly configs: readonly Configuration[];
    }
  | {
      readonly ok: false;
      readonly message: string;
      readonly usage?: boolean;
      /** A damaged file, as against one with nothing measured yet. */
      readonly damaged?: boolean;
    };

/**
 * The report of a results folder (a sweep's or a search's --out, or a results .jsonl): what
 * `archc report` prints and what a sweep or search prints when it ends. A missing, empty or
 * damaged file gives a sentence naming it; a bad --sort or --metric gives one marked usage.
 */
export function reportFolder(path: string, opts: AnalysisOptions = {}): FolderReport {
  const loaded = loadResults(path);
  if (!loaded.ok) return { ok: false, message: loaded.message, damaged: loaded.damaged };
  try {
    return { ok: true, ...analyse(loaded.file, loaded.rows, opts) };
  } catch (e) {
    if (e instanceof ReportUsageError) return { ok: false, message: e.message, usage: true };
    throw e;
  }
}
