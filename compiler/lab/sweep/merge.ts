import { compareIdentity, describeDifferences } from "../run/identity.js";
import { readResults, type SweepRecord } from "./results.js";
import { existsSync } from "node:fs";
import { join } from "node:path";

/** Fields of a row's identity that belong to its variant; every other field is the sweep's. */
const perVariant = ["network", "args", "graph", "invalid", "seed"];

export interface Merged {
  /** One row per variant, in the order of `order` (labels of the planned variants). */
  readonly records: SweepRecord[];
  /** Rows refused, folders without results, variants no shard measured: each a sentence. */
  readonly problems: string[];
}

/**
 * Joins the results.jsonl of sweep shards (`archc sweep --shard I/N`, run anywhere) into one
 * sweep. A row is refused when what decided its numbers differs from the others' (another spec,
 * config, data, measures or archc version), or when two shards measured the same variant
 * differently; a variant of the plan that no shard measured is named.
 */
export function mergeResults(dirs: readonly string[], order: readonly string[]): Merged {
  const problems: string[] = [];
  const byVariant = new Map<string, { record: SweepRecord; dir: string }>();
  let first: { record: SweepRecord; dir: string } | undefined;
  for (const dir of dirs) {
    if (!existsSync(join(dir, "results.jsonl"))) {
      problems.push(`${dir} has no results.jsonl: is it a sweep's --out folder?`);
      continue;
    }
    for (const record of readResults(dir).values()) {
      const key = record.seed === undefined ? record.variant : `${record.variant}#${record.seed}`;
      if (!record.identity) {
        problems.push(
          `${dir}: ${record.variant} has no identity (made by an older archc); measure it again`,
        );
        continue;
      }
      if (!first) first = { record, dir };
      else {
        const diffs = compareIdentity(first.record.identity!, record.identity, perVariant);
        if (diffs.length) {
          problems.push(
            `${dir}: ${record.variant} refused, it was measured differently from ${first.dir}'s rows: ${describeDifferences(diffs)}`,
          );
          continue;
        }
      }
      const seen = byVariant.get(key);
      if (seen && seen.record.key !== record.key) {
        problems.push(
          `${dir}: ${record.variant} refused, ${seen.dir} measured it with another identity`,
        );
        continue;
      }
      if (!seen) byVariant.set(key, { record, dir });
    }
  }
  const rank = new Map(order.map((label, i) => [label, i]));
  for (const { record } of byVariant.values())
    if (!rank.has(record.variant))
      problems.push(`${record.variant} is not a variant of this sweep`);
  const records = [...byVariant.values()]
    .map((x) => x.record)
    .filter((r) => rank.has(r.variant))
    .sort((a, b) => rank.get(a.variant)! - rank.get(b.variant)! || (a.seed ?? 0) - (b.seed ?? 0));
  const measured = new Set(records.map((r) => r.variant));
  const missing = order.filter((l) => !measured.has(l));
  if (missing.length) problems.push(`no shard measured ${missing.join(", ")}`);
  return { records, problems };
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
