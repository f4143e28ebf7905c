import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { hostname } from "node:os";
import {
  createExclusive,
  FileProblem,
  isMissing,
  makeFolder,
  readRegularFile,
} from "../../util/files.js";
import { runPaths } from "./paths.js";
import { alive } from "../../util/alive.js";

/** A run or sweep folder that another live process is using, or whose lock cannot be used. */
export class LockError extends Error {}

export interface Lock {
  readonly path: string;
  readonly pid: number;
  /** Unique to this taking of the lock: what release checks before removing the file. */
  readonly nonce: string;
}

interface LockInfo {
  pid: number;
  host: string;
  command: string;
  since: string;
  nonce: string;
}

export { alive };

/** A lock file as found: what it says, and a name for this very file (its nonce, or inode). */
interface Held {
  readonly info: Partial<LockInfo>;
  readonly id: string;
}

function readHeld(path: string): Held | undefined {
  let file;
  try {
    file = readRegularFile(path, { maxBytes: 1 << 16 });
  } catch (e) {
    if (isMissing(e)) return undefined;
    if (e instanceof FileProblem) throw new LockError(e.message);
    throw e;
  }
  let info: Partial<LockInfo> = {};
  try {
    info = JSON.parse(file.data.toString("utf8")) as Partial<LockInfo>;
  } catch {
    // Empty or cut short: written by an archc that created locks before writing them.
  }
  if (info === null || typeof info !== "object") info = {};
  const id =
    typeof info.nonce === "string" && /^[0-9a-f]{1,64}$/.test(info.nonce)
      ? info.nonce
      : `${file.stats.dev}-${file.stats.ino}`;
  return { info, id };
}

/** Whether the holder named in a lock file may still be using it. */
function isLive(info: Partial<LockInfo>): boolean {
  if (typeof info.pid !== "number") return false;
  return (info.host !== undefined && info.host !== hostname()) || alive(info.pid);
}

function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Removes the stale file `path` (named `id`) if this process wins the right to; true if it did.
 * The right is the file `path.takeover-ID`, created exclusively and whole: at most one process
 * holds it at a time, and it is dropped only after `path` is gone, so whoever holds it and finds
 * `path` still named `id` is the only one that can remove it. A claim left by a taker that died
 * is stale in its turn and removed the same way.
 */
function removeStale(path: string, id: string, text: string, depth: number): boolean {
  const claim = `${path}.takeover-${id}`;
  if (!createExclusive(claim, text)) {
    const held = readHeld(claim);
    if (held && !isLive(held.info)) {
      if (depth >= 4)
        throw new LockError(
          `${path}: lock files left by processes that died pile up (${claim}); remove them by hand when no archc uses the folder`,
        );
      removeStale(claim, held.id, text, depth + 1);
    }
    return false;
  }
  try {
    if (readHeld(path)?.id !== id) return false;
    rmSync(path, { force: true });
    return true;
  } finally {
    rmSync(claim, { force: true });
  }
}

/**
 * Takes the folder's lock: a file created exclusively and whole, holding the pid. A folder
 * locked by a live process on this machine is refused with that process named. A lock left by a
 * process that died (kill -9, a crash), or an empty one, is taken over atomically: of all the
 * processes that find the same stale lock, exactly one may remove it (removeStale), and then the
 * first to create the lock again holds it.
 */
export function acquireLock(dir: string, command: string): Lock {
  try {
    makeFolder(dir);
  } catch (e) {
    if (e instanceof FileProblem) throw new LockError(e.message);
    throw e;
  }
  const path = runPaths(dir).lock;
  const nonce = randomBytes(12).toString("hex");
  const info: LockInfo = {
    pid: process.pid,
    host: hostname(),
    command,
    since: new Date().toISOString(),
    nonce,
  };
  const text = JSON.stringify(info) + "\n";
  const deadline = Date.now() + 5_000;
  for (;;) {
    let created: boolean;
    try {
      created = createExclusive(path, text);
    } catch (e) {
      if (e instanceof FileProblem) throw new LockError(e.message);
      throw e;
    }
    if (created) return { path, pid: process.pid, nonce };
    const held = readHeld(path);
    if (!held) continue; // released meanwhile
    if (isLive(held.info)) {
      const h = held.info;
      const otherHost = h.host !== hostname();
      throw new LockError(
        `${dir} is in use by process ${h.pid}${otherHost ? ` on ${h.host}` : ""} (archc ${h.command ?? "?"}, since ${h.since ?? "?"}); wait for it to finish, stop it, or use another --out`,
      );
    }
    if (removeStale(path, held.id, text, 0)) continue;
    if (Date.now() > deadline)
      throw new LockError(
        `${dir}: could not take the lock ${path}; another process is taking it over`,
      );
    pause(2);
  }
}

/** Gives the lock back, if it is still ours. */
export function releaseLock(lock: Lock): void {
  try {
    const held = readHeld(lock.path);
    if (held?.info.nonce === lock.nonce) rmSync(lock.path, { force: true });
  } catch {
    // Gone, or replaced by something that is not ours to remove.
  }
}
