import {
  compareIdentity,
  describeDifferences,
  identityHash,
  type RunIdentity,
} from "../run/identity.js";
import { readResults, resultsFile, type SweepRecord } from "./results.js";
import { existsSync } from "node:fs";
import type { Json } from "../../language/elaborate/values.js";
import { join } from "node:path";
import { FileProblem } from "../../util/files.js";

/** A row the merging command would measure: its variant's label, seed and whole identity. */
export interface ExpectedRow {
  readonly label: string;
  /** Set when the sweep repeats each variant over several seeds. */
  readonly seed?: number;
  readonly identity: RunIdentity;
}

export interface Merged {
  /** One row per expected row that a shard measured, in the order of the expected rows. */
  readonly records: SweepRecord[];
  /** Rows refused, folders without results, variants no shard measured: each a sentence. */
  readonly problems: string[];
}

/**
 * Joins the results.jsonl of sweep shards (`archc sweep --shard I/N`, run anywhere) into one
 * sweep. A shard's row is taken only when its whole identity is the one the merging command
 * computes for that variant: spec, network, every argument (the fixed ones of --set too),
 * measures, train config, data, seed, engine, archc version. Otherwise it is refused with the
 * fields that differ; a row of no expected variant, and an expected row no shard measured, are
 * named.
 */
export function mergeResults(dirs: readonly string[], expected: readonly ExpectedRow[]): Merged {
  const problems: string[] = [];
  const rowOf = (label: string, seed: number | undefined) =>
    `${label}${seed === undefined ? "" : `#${seed}`}`;
  const byKey = new Map(expected.map((e) => [identityHash(e.identity), e]));
  const byRow = new Map(expected.map((e) => [rowOf(e.label, e.seed), e]));
  const found = new Map<string, SweepRecord>();
  const refused = new Set<string>();
  for (const dir of dirs) {
    if (!existsSync(join(dir, resultsFile))) {
      problems.push(`${dir} has no ${resultsFile}: is it a sweep's --out folder?`);
      continue;
    }
    let records: Map<string, SweepRecord>;
    try {
      records = readResults(dir);
    } catch (e) {
      if (!(e instanceof FileProblem)) throw e;
      problems.push(e.message);
      continue;
    }
    for (const record of records.values()) {
      if (!record.identity) {
        problems.push(
          `${dir}: ${record.variant} has no identity (made by an older archc); measure it again`,
        );
        continue;
      }
      const key = identityHash(record.identity);
      const want = byKey.get(key);
      if (!want) {
        const same = byRow.get(rowOf(record.variant, record.seed));
        if (same) refused.add(rowOf(same.label, same.seed));
        problems.push(
          same
            ? `${dir}: ${record.variant} refused, it was measured differently than this command would: ${differences(same.identity, record.identity)}`
            : `${dir}: ${record.variant} is not a variant of this sweep`,
        );
        continue;
      }
      // Equal identities measure the same thing: a row two shards hold is taken once.
      if (!found.has(key)) found.set(key, { ...record, key });
    }
  }
  const records: SweepRecord[] = [];
  const missing: string[] = [];
  for (const e of expected) {
    const r = found.get(identityHash(e.identity));
    if (r) records.push(r);
    else if (!refused.has(rowOf(e.label, e.seed)))
      missing.push(rowOf(e.label, e.seed).replace("#", " seed "));
  }
  if (missing.length) problems.push(`no shard measured ${missing.join(", ")}`);
  return { records, problems };
}

/**
 * The fields that differ, an argument shown as its value (`args.width: 8 now, 16 in the run`)
 * rather than as the parts of the stored Value.
 */
function differences(want: RunIdentity, have: RunIdentity): string {
  const diffs = compareIdentity(want, have);
  const args = (id: RunIdentity) => (id["args"] ?? {}) as { [k: string]: Json };
  const plain = (x: Json | undefined): Json | undefined =>
    x !== null && typeof x === "object" && !Array.isArray(x) && "v" in x ? x["v"] : x;
  const seen = new Set<string>();
  const shown = diffs.flatMap((d) => {
    const arg = /^args\.([^.]+)/.exec(d.path)?.[1];
    if (arg === undefined) return [d];
    if (seen.has(arg)) return [];
    seen.add(arg);
    return [{ path: `args.${arg}`, want: plain(args(want)[arg]), have: plain(args(have)[arg]) }];
  });
  return describeDifferences(shown);
}

/** `--shard I/N`: the I-th of N shares (0 <= I < N), every N-th variant from the I-th. */
export function parseShard(text: string): { index: number; of: number } | string {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const of = m ? Number(m[2]) : NaN;
  if (!m || !(of >= 1) || !(index < of))
    return `--shard takes I/N with 0 <= I < N (a job array's index and size), not '${text}'`;
  return { index, of };
}
