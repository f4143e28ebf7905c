import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Two real processes find the same stale lock (its process died, or it is empty) and both try to
 * take it over, at the same instant, 100 times each: exactly one may win every time.
 */
const repo = join(import.meta.dirname, "..", "..", "..");
const trials = 100;

interface Racer {
  child: ChildProcessWithoutNullStreams;
  next(): Promise<string>;
}

function racer(): Racer {
  const child = spawn(process.execPath, ["--import", "tsx", "test/lab/run/lockRacer.ts"], {
    cwd: repo,
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    child,
    next: async () => {
      const timeout = new Promise<string>((resolve) =>
        setTimeout(() => resolve("no answer within 10 s"), 10_000).unref(),
      );
      const line = lines.next().then((r) => (r.done ? "exited" : r.value));
      return Promise.race([line, timeout]);
    },
  };
}

let racers: Racer[];
let root: string;
let deadPid: number;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "archc-lockrace-"));
  // A process that has exited: its pid is free (and not reused this quickly).
  deadPid = Number(
    spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout,
  );
  racers = [racer(), racer()];
  // Warm both up (module loading) before the first race.
  const warm = join(root, "warm");
  for (const [i, r] of racers.entries()) r.child.stdin.write(`${warm}-${i} 0\n`);
  for (const r of racers) expect(await r.next()).toBe("won");
}, 60_000);

afterAll(() => {
  for (const r of racers) r.child.kill("SIGKILL");
});

async function race(stale: (lock: string) => void): Promise<string[]> {
  const outcomes: string[] = [];
  for (let t = 0; t < trials; t++) {
    const dir = join(root, `${outcomes.length}-${Math.random().toString(36).slice(2)}`);
    mkdirSync(dir);
    stale(join(dir, "lock"));
    const start = Date.now() + 15;
    for (const r of racers) r.child.stdin.write(`${dir} ${start}\n`);
    const got = await Promise.all(racers.map((r) => r.next()));
    const winners = got.filter((g) => g === "won").length;
    const others = got.filter((g) => g !== "won" && !g.startsWith("lost: "));
    outcomes.push(
      winners === 1 && others.length === 0 ? "one" : `${winners} winners: ${got.join(" | ")}`,
    );
  }
  return outcomes.filter((o) => o !== "one");
}

describe("taking over a stale lock is atomic", () => {
  it(`a dead process's lock: exactly one of two racers wins, ${trials} times out of ${trials}`, async () => {
    const bad = await race((lock) =>
      writeFileSync(lock, JSON.stringify({ pid: deadPid, host: hostname(), command: "train" })),
    );
    expect(bad).toEqual([]);
  }, 60_000);

  it(`an empty lock: exactly one of two racers wins, ${trials} times out of ${trials}`, async () => {
    const bad = await race((lock) => writeFileSync(lock, ""));
    expect(bad).toEqual([]);
  }, 60_000);
});
