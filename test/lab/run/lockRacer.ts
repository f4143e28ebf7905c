/**
 * One side of a lock race: for each line `DIR START` on stdin, waits until the clock reaches
 * START (ms since the epoch, the same instant for both racers), tries to take DIR's lock and
 * prints `won` or `lost: why`. A lock won is kept: the process stays alive, so it stays held.
 */
import { createInterface } from "node:readline";
import { acquireLock, LockError } from "../../../compiler/lab/run/lock.js";

for await (const line of createInterface({ input: process.stdin })) {
  const [dir, start] = line.split(" ");
  while (performance.timeOrigin + performance.now() < Number(start)) {
    // spin: both racers leave this loop within the same millisecond
  }
  try {
    acquireLock(dir!, "race");
    process.stdout.write("won\n");
  } catch (e) {
    process.stdout.write(
      `${e instanceof LockError ? "lost" : "error"}: ${String(e)}\n`.replace(/\n(?!$)/g, " "),
    );
  }
}
