import { appendRegular, makeFolder, readRegularIfAny } from "../../util/files.js";
import { join } from "node:path";
import type { Json } from "../../language/elaborate/values.js";
import type { RunIdentity } from "../run/identity.js";

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
  /** The data the val numbers come from, e.g. "fashion-mnist (val)": held out of training. */
  readonly valData?: string;
  /** Batch norms were recalibrated on training data before evaluating (precise BN). */
  readonly preciseBn?: boolean;
  /** Too few steps for the batch-norm momentum and no recalibration: val numbers lag. */
  readonly bnLag?: boolean;
}

/** One line of results.jsonl: a variant and what was measured of it, or why it failed. */
export interface SweepRecord {
  readonly variant: string;
  /** identityHash(identity): a saved line is reused only for a variant of the same key. */
  readonly key?: string;
  /** Everything that decided these numbers (lab/run/identity.ts). */
  readonly identity?: RunIdentity;
  /** Set on output (never saved) when the line came from results.jsonl rather than this run. */
  readonly cached?: boolean;
  /** The seed, when a sweep repeats each variant over several seeds. */
  readonly seed?: number;
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
 * Records already in the run folder, by identity key: a restarted sweep skips exactly those.
 * The last line for a key wins; lines without a key (older archc) and measurements that crashed
 * are left to run again.
 */
export function readResults(dir: string): Map<string, SweepRecord> {
  const path = join(dir, resultsFile);
  const out = new Map<string, SweepRecord>();
  const text = readRegularIfAny(path, { within: dir });
  if (text === undefined) return out;
  for (const line of text.toString("utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as SweepRecord;
      if (!r.key) continue;
      // A run that crashed (not a diagnostic about the spec) is tried again.
      if (r.error?.code === "run") out.delete(r.key);
      else out.set(r.key, r);
    } catch {
      // A line cut short by a crash: that variant simply runs again.
    }
  }
  return out;
}

/**
 * One line per finished variant, appended as soon as it is known. A line cut short by a kill is
 * skipped on reading (and its variant measured again); a line is appended whole with one write.
 */
export function appendResult(dir: string, r: SweepRecord): void {
  makeFolder(dir);
  const { cached: _cached, ...saved } = r;
  const path = join(dir, resultsFile);
  // After a line cut short by a kill, start on a line of its own.
  const text = readRegularIfAny(path, { within: dir });
  const fresh = !text?.length || text[text.length - 1] === 0x0a;
  appendRegular(path, (fresh ? "" : "\n") + JSON.stringify(saved) + "\n");
}
