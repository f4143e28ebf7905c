import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { runPaths } from "./paths.js";

/** A run or sweep folder that another live process is using. */
export class LockError extends Error {}

export interface Lock {
  readonly path: string;
  readonly pid: number;
}

interface LockInfo {
  pid: number;
  host: string;
  command: string;
  since: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the folder's lock: a file created exclusively, holding the pid. A folder locked by a live
 * process on this machine is refused with that process named; a lock left by a process that
 * died (kill -9, a crash) is taken over.
 */
export function acquireLock(dir: string, command: string): Lock {
  mkdirSync(dir, { recursive: true });
  const path = runPaths(dir).lock;
  const info: LockInfo = {
    pid: process.pid,
    host: hostname(),
    command,
    since: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, "wx");
      try {
        writeSync(fd, JSON.stringify(info) + "\n");
      } finally {
        closeSync(fd);
      }
      return { path, pid: process.pid };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    let held: Partial<LockInfo> = {};
    try {
      held = JSON.parse(readFileSync(path, "utf8")) as Partial<LockInfo>;
    } catch {
      // Empty or cut short: its writer died between creating and writing it.
    }
    const otherHost = held.host !== undefined && held.host !== hostname();
    if (typeof held.pid === "number" && (otherHost || alive(held.pid))) {
      throw new LockError(
        `${dir} is in use by process ${held.pid}${otherHost ? ` on ${held.host}` : ""} (archc ${held.command ?? "?"}, since ${held.since ?? "?"}); wait for it to finish, stop it, or use another --out`,
      );
    }
    // Stale: the process that held it is gone.
    rmSync(path, { force: true });
  }
  throw new LockError(`${dir}: could not take the lock ${path}; another process keeps taking it`);
}

/** Gives the lock back, if it is still ours. */
export function releaseLock(lock: Lock): void {
  try {
    const held = JSON.parse(readFileSync(lock.path, "utf8")) as Partial<LockInfo>;
    if (held.pid === lock.pid) rmSync(lock.path, { force: true });
  } catch {
    // Already gone.
  }
}
