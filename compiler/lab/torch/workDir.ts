import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { alive } from "../run/lock.js";

/**
 * The torch engine's scratch folder (the data's sample lists, an unpacked IDX file, the starting
 * weights, the job and the stop file), in the system's temp folder. archc removes it when a run ends, but a run killed
 * with SIGKILL cannot, and its data copies (tens of MB for Fashion-MNIST) would stay for good: so
 * each new one first removes those whose owner is gone. Only folders that say whose they are
 * (`owner.json`: this machine, a pid that no longer exists, this user) are removed; anything else
 * under the same prefix, a live run's folder or a folder of a machine sharing /tmp, is left alone.
 */
const prefix = "archc-torch-";
const ownerFile = "owner.json";

interface Owner {
  readonly pid: number;
  readonly host: string;
}

/** A new scratch folder, made after removing the stale ones. */
export function makeWorkDir(base = tmpdir()): string {
  removeStaleWorkDirs(base);
  const dir = mkdtempSync(join(base, `${prefix}${process.pid}-`));
  const owner: Owner = { pid: process.pid, host: hostname() };
  writeFileSync(join(dir, ownerFile), JSON.stringify(owner));
  return dir;
}

/** Removes the scratch folders in `base` whose archc process has died; returns their paths. */
export function removeStaleWorkDirs(base = tmpdir()): string[] {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return []; // an unreadable temp folder: mkdtemp will say what is wrong
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const dir = join(base, name);
    if (!isStale(dir)) continue;
    try {
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // Another archc removing it at the same time, or not ours to remove after all.
    }
  }
  return removed;
}

function isStale(dir: string): boolean {
  try {
    const st = lstatSync(dir);
    if (!st.isDirectory()) return false;
    if (process.getuid && st.uid !== process.getuid()) return false;
    const owner = JSON.parse(readFileSync(join(dir, ownerFile), "utf8")) as Partial<Owner>;
    return (
      typeof owner.pid === "number" &&
      Number.isInteger(owner.pid) &&
      owner.pid > 0 &&
      owner.host === hostname() &&
      !alive(owner.pid)
    );
  } catch {
    return false; // no owner written (yet), or not a folder of ours
  }
}
