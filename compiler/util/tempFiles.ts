import { readdirSync, unlinkSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { alive } from "./alive.js";

/**
 * The temporaries that atomicWrite and createExclusive write beside their targets. A process
 * killed between making one and renaming it (SIGKILL, the machine's OOM killer) cannot remove it,
 * so its name says whose it is: `.TARGET.PID.HOST.TIME.RANDOM.tmp`. The first write into a folder
 * by a process removes the temporaries there of processes of this machine that no longer exist;
 * another machine's (a shared folder) and a live process's are left alone, since only their
 * writer can know whether they are still in use.
 */

/** This machine, short and safe in a file name (a hash of its host name). */
let hostTag: string | undefined;
function thisHost(): string {
  if (hostTag === undefined) {
    const name = hostname();
    let h = 0x811c9dc5;
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
    hostTag = (h >>> 0).toString(36);
  }
  return hostTag;
}

const tempName = /^\..+\.(\d+)\.([0-9a-z]+)\.[0-9a-z]+\.[0-9a-z]+\.tmp$/;

/**
 * A name beside `path` that no other writer picks; it is created with O_EXCL, so even a clash
 * would be an error, never two writers in one file.
 */
export function tempBeside(path: string): string {
  removeStaleTemps(dirname(path));
  const tag = `${process.pid}.${thisHost()}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 10)}`;
  return join(dirname(path), `.${basename(path)}.${tag}.tmp`);
}

/** Folders this process has cleaned: once each, so that many writes into one cost one listing. */
const swept = new Set<string>();

/** Removes the temporaries in `dir` left by dead processes of this machine; returns their names. */
export function removeStaleTemps(dir: string): string[] {
  if (swept.has(dir)) return [];
  swept.add(dir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return []; // not made yet, or unreadable: the write itself says what is wrong
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = tempName.exec(name);
    if (!m || m[2] !== thisHost()) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pid <= 0 || alive(pid)) continue;
    try {
      unlinkSync(join(dir, name));
      removed.push(name);
    } catch {
      // Removed by another process first, or not ours to remove: either way not this write's concern.
    }
  }
  return removed;
}
