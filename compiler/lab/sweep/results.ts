import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Json } from "../../language/elaborate/values.js";

export interface Latency {
  readonly backend: string;
  readonly batch: number;
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly runs: number;
}

export interface TrainOutcome {
  readonly epochs: number;
  readonly loss: number;
  readonly accuracy: number;
  readonly valLoss?: number;
  readonly valAccuracy?: number;
  readonly seconds: number;
  readonly imagesPerSec: number;
}

/** One line of results.jsonl: a variant and what was measured of it, or why it failed. */
export interface SweepRecord {
  readonly variant: string;
  readonly point: Readonly<Record<string, Json>>;
  /** For plots: the partition count as a number (depthwise: the largest group count used). */
  readonly partsX?: number;
  readonly params?: number;
  readonly trainable?: number;
  readonly macs?: number;
  readonly snapped?: readonly { layer: string; requested: number; chosen: number }[];
  readonly latency?: Latency;
  readonly train?: TrainOutcome;
  readonly error?: { readonly code: string; readonly message: string };
}

export const resultsFile = "results.jsonl";

/**
 * Records already in the run folder, by variant: a restarted sweep skips them. The last line
 * for a variant wins, and variants whose measurement crashed are left to run again.
 */
export function readResults(dir: string): Map<string, SweepRecord> {
  const path = join(dir, resultsFile);
  const out = new Map<string, SweepRecord>();
  if (!existsSync(path)) return out;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as SweepRecord;
      // A run that crashed (not a diagnostic about the spec) is tried again.
      if (r.error?.code === "run") out.delete(r.variant);
      else out.set(r.variant, r);
    } catch {
      // A line cut short by a crash: that variant simply runs again.
    }
  }
  return out;
}

/** One line per finished variant, appended as soon as it is known. */
export function appendResult(dir: string, r: SweepRecord): void {
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, resultsFile), JSON.stringify(r) + "\n");
}
