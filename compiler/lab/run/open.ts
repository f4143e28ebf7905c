import { existsSync } from "node:fs";
import type { Json } from "../../language/elaborate/values.js";
import {
  compareIdentity,
  describeDifferences,
  identityHash,
  withoutFields,
  type RunIdentity,
} from "./identity.js";
import { acquireLock, releaseLock, type Lock } from "./lock.js";
import { readManifest, RunError, writeManifest, type Manifest } from "./manifest.js";
import { runPaths } from "./paths.js";
import { expectFileOrNothing, FileProblem, removeFile } from "../../util/files.js";

/**
 * What to do with a folder that already holds a run:
 * - `new`: refuse it (the user must say --resume or --fresh);
 * - `resume`: continue it, if its identity is the one asked for, else refuse naming the fields;
 * - `fresh`: delete its checkpoints and metrics and start over;
 * - `auto` (sweeps): continue it when the identity matches, else start over.
 */
export type OpenMode = "new" | "resume" | "fresh" | "auto";

export interface OpenRun {
  readonly dir: string;
  readonly lock: Lock;
  readonly manifest: Manifest;
  /** Whether training continues from the folder's checkpoint. */
  readonly resume: boolean;
  /**
   * The key checkpoints carry: the identity's hash without the fields a resumed run may change,
   * so that training for longer still reads the checkpoints written before.
   */
  readonly key: string;
}

export interface OpenRunOptions {
  readonly mode: OpenMode;
  /** Shown to another process that finds the folder locked, e.g. `train`. */
  readonly command: string;
  /**
   * Identity fields a resumed run may change; by default `train.epochs` (train for longer) and
   * `train.patience` (stop early, or not).
   */
  readonly mayChange?: readonly string[];
  /** Written into the manifest beside the identity (see Manifest.source). */
  readonly source?: Json;
}

/** Whether a folder holds anything of a run. */
export function holdsRun(dir: string): boolean {
  const p = runPaths(dir);
  return [p.manifest, p.checkpoint, p.metrics].some((f) => existsSync(f));
}

/** The files of a run folder that archc reads, replaces or removes. */
function runFiles(dir: string): string[] {
  const p = runPaths(dir);
  return [p.checkpoint, p.best, p.metrics, p.csv, p.manifest];
}

/** Deletes what a run wrote (checkpoints, metrics, manifest), leaving other files alone. */
export function clearRun(dir: string): void {
  for (const f of runFiles(dir)) removeFile(f, dir);
}

/**
 * Checks, before any work, that each file of the run that is there is a regular file (or a
 * link to one inside the folder): a folder, FIFO or device in its place is refused by name.
 */
export function checkRunFiles(dir: string): void {
  try {
    for (const f of runFiles(dir)) expectFileOrNothing(f, dir);
  } catch (e) {
    if (e instanceof FileProblem) throw new RunError(e.message);
    throw e;
  }
}

/**
 * Locks a run folder and settles whether the run starts or continues, so that a folder never
 * mixes two runs: the manifest written here is the identity of everything the folder holds.
 */
export function openRun(dir: string, identity: RunIdentity, o: OpenRunOptions): OpenRun {
  const mayChange = o.mayChange ?? ["train.epochs", "train.patience"];
  const key = identityHash(withoutFields(identity, mayChange));
  const lock = acquireLock(dir, o.command);
  try {
    checkRunFiles(dir);
    const exists = holdsRun(dir);
    if (exists && o.mode === "new")
      throw new RunError(
        `${dir} already holds a run: pass --resume to continue it, or --fresh to delete it and start over`,
      );
    if (exists && o.mode !== "fresh") {
      let manifest: Manifest | undefined;
      try {
        manifest = readManifest(dir);
      } catch (e) {
        if (o.mode === "auto" && e instanceof RunError) manifest = undefined;
        else throw e;
      }
      if (!manifest && o.mode === "resume")
        throw new RunError(
          `${dir} has no manifest.json, so what it was trained with is unknown; start again with --fresh`,
        );
      const diffs = manifest ? compareIdentity(identity, manifest.identity, mayChange) : [];
      if (manifest && diffs.length === 0) {
        // Same run: continue. The manifest is written again for fields allowed to change.
        return { dir, lock, manifest: writeManifest(dir, identity, o.source), resume: true, key };
      }
      if (o.mode === "resume")
        throw new RunError(
          `${dir} holds another run, so --resume cannot continue it: ${describeDifferences(diffs)}. Use another --out, or --fresh to start over`,
        );
    }
    if (exists) clearRun(dir);
    return { dir, lock, manifest: writeManifest(dir, identity, o.source), resume: false, key };
  } catch (e) {
    releaseLock(lock);
    throw e;
  }
}

export function closeRun(run: OpenRun): void {
  releaseLock(run.lock);
}
