import { join } from "node:path";

/** The files of a run folder; every engine writes the same names. */
export function runPaths(dir: string) {
  return {
    dir,
    manifest: join(dir, "manifest.json"),
    lock: join(dir, "lock"),
    checkpoint: join(dir, "checkpoint.bin"),
    best: join(dir, "best.bin"),
    /** What `archc eval` measured of the run, one entry per split and weights. */
    evaluations: join(dir, "eval.json"),
    metrics: join(dir, "metrics.jsonl"),
    csv: join(dir, "metrics.csv"),
  } as const;
}
