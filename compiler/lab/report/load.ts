import { existsSync, statSync } from "node:fs";
import { FileProblem, isMissing, readRegular } from "../../util/files.js";
import { join } from "node:path";
import { resultsFile, type SweepRecord } from "../sweep/results.js";

/** The rows of one results file, or a sentence naming the file and what is wrong with it. */
export type Loaded =
  | { readonly ok: true; readonly file: string; readonly rows: SweepRecord[] }
  | {
      readonly ok: false;
      readonly file: string;
      readonly message: string;
      /** Nothing measured yet (no file, no rows), or a file that is not what it should be. */
      readonly damaged: boolean;
    };

const numberFields = ["params", "trainable", "macs", "partsX", "seed"] as const;
const trainFields = ["loss", "accuracy", "valLoss", "valAccuracy", "seconds", "epochs"] as const;

/** Why a parsed line is not a results row, or undefined when it is one. */
function shapeProblem(r: unknown): string | undefined {
  if (typeof r !== "object" || r === null || Array.isArray(r)) return "not a JSON object";
  const o = r as Record<string, unknown>;
  if (typeof o["variant"] !== "string") return "no variant label";
  const point = o["point"];
  if (typeof point !== "object" || point === null || Array.isArray(point))
    return "no point (the axis values)";
  for (const f of numberFields)
    if (o[f] !== undefined && typeof o[f] !== "number") return `${f} is not a number`;
  const train = o["train"];
  if (train !== undefined) {
    if (typeof train !== "object" || train === null) return "train is not an object";
    for (const f of trainFields) {
      const v = (train as Record<string, unknown>)[f];
      if (v !== undefined && typeof v !== "number") return `train.${f} is not a number`;
    }
  }
  const latency = o["latency"];
  if (
    latency !== undefined &&
    typeof (latency as Record<string, unknown> | null)?.["medianMs"] !== "number"
  )
    return "latency has no medianMs";
  return undefined;
}

/**
 * Reads a sweep's or search's results: DIR/results.jsonl, or a .jsonl file named directly (the
 * rows kept under docs/results/). Unlike a resuming sweep, which skips a damaged line and measures
 * its variant again, a report refuses one: an analysis that silently missed rows would be wrong
 * without a word. When a key was measured more than once the last line wins, as on resume, in
 * the place of the first.
 */
export function loadResults(path: string): Loaded {
  if (!existsSync(path))
    return {
      ok: false,
      file: path,
      message: `${path} does not exist: give a sweep's --out folder`,
      damaged: false,
    };
  const file = statSync(path).isDirectory() ? join(path, resultsFile) : path;
  if (!existsSync(file))
    return {
      ok: false,
      file,
      message: `${file} does not exist: is ${path} a sweep's or search's --out folder?`,
      damaged: false,
    };
  let text: Buffer;
  try {
    // A folder's results.jsonl must stay inside it; a file named directly is read where it is.
    text = readRegular(file, file === path ? {} : { within: path });
  } catch (e) {
    if (!(e instanceof FileProblem) && !isMissing(e)) throw e;
    return { ok: false, file, message: (e as Error).message, damaged: false };
  }
  const byKey = new Map<string, SweepRecord>();
  const lines = text.toString("utf8").split("\n");
  if (file === path && !path.toLowerCase().endsWith(".jsonl") && !firstLineIsRow(lines))
    return {
      ok: false,
      file,
      message: notResults(path),
      damaged: false,
    };
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return {
        ok: false,
        file,
        message: `${file}:${i + 1}: damaged row, not JSON (a line cut short by a kill?); delete that line, and the sweep measures its variant again when rerun`,
        damaged: true,
      };
    }
    const problem = shapeProblem(parsed);
    if (problem)
      return {
        ok: false,
        file,
        message: `${file}:${i + 1}: damaged row, ${problem}; a results row has variant, point and what was measured`,
        damaged: true,
      };
    const r = parsed as SweepRecord;
    // Rows of older archc have no key: their variant and seed stand in for it.
    const key = r.key ?? `${r.variant}#${r.seed ?? 0}`;
    byKey.set(key, r);
  }
  if (!byKey.size)
    return {
      ok: false,
      file,
      message: `${file} has no rows: the sweep has measured nothing yet`,
      damaged: false,
    };
  return { ok: true, file, rows: [...byKey.values()] };
}

/**
 * Whether the first line with text is a results row. A file named directly whose first line is
 * not (a spec, a manifest) is another kind of file, not a results file with a damaged row.
 */
function firstLineIsRow(lines: readonly string[]): boolean {
  const first = lines.find((l) => l.trim());
  if (first === undefined) return true;
  try {
    return shapeProblem(JSON.parse(first)) === undefined;
  } catch {
    return false;
  }
}

function notResults(path: string): string {
  const spec = path.toLowerCase().endsWith(".arch")
    ? `; a spec is measured first: archc sweep ${path} --sweep NAME=VALUES --out DIR (or archc search), then archc report DIR`
    : "";
  return `${path} is not a results file: archc report reads the --out folder of a sweep or search (its ${resultsFile}), or a .jsonl file of such rows${spec}`;
}
