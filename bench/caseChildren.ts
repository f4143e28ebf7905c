/**
 * Runs a comparison bench (train, infer) as one child process per case and thread count: the
 * wasm backend's thread count is fixed once it starts, and a child that aborts (a wasm trap, out
 * of memory) or runs past its time loses only its own row. The child prints each measured row
 * on a marked line; the parent prints it, appends it to the results file at once
 * (bench/results.ts), records a failed row for a child that died or timed out, and goes on. The
 * thread counts of one case run back to back, so a case's speed-up is measured minutes apart,
 * not an hour.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import {
  finalTables,
  formatRow,
  latestRows,
  tableHeader,
  type ComparisonRow,
  type Labels,
} from "./comparison.js";
import { appendResult, readResults } from "./results.js";
import { loadAverage } from "./timing.js";

/** The mark of a row line on a child's stdout. */
export const ROW_MARK = "BENCH_ROW ";

/** How a case's points read in a row's name: regular, parts = N or depthwise. */
export const partsName = (parts: number | "depthwise"): string =>
  parts === "depthwise" ? "depthwise" : parts === 1 ? "regular (parts = 1)" : `parts = ${parts}`;

/** What ARCHC_BENCH_WARMUP, _STEPS, _ROUNDS and _TIMEOUT_S ask for, where set. */
export interface CountOverrides {
  warmUp?: number;
  steps?: number;
  rounds?: number;
  timeoutS?: number;
}

/** The counts a run sets for every case; a value that is not a whole number in range exits 2. */
export function countOverrides(): CountOverrides {
  const env = (name: string, min: number): number | undefined => {
    const v = process.env[name];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
      console.error(`${name}: '${v}' is not a whole number >= ${min}`);
      process.exit(2);
    }
    return n;
  };
  return {
    warmUp: env("ARCHC_BENCH_WARMUP", 0),
    steps: env("ARCHC_BENCH_STEPS", 1),
    rounds: env("ARCHC_BENCH_ROUNDS", 1),
    timeoutS: env("ARCHC_BENCH_TIMEOUT_S", 1),
  };
}

export const isChild = (): boolean => Boolean(process.env["ARCHC_BENCH_CHILD"]);

/** In a child: a folder for its scratch files, which the parent removes. */
export const scratchDir = (): string => process.env["ARCHC_BENCH_SCRATCH"] ?? tmpdir();

/** In a child: hands a finished row to the parent. */
export function reportRow(row: ComparisonRow): void {
  console.log(ROW_MARK + JSON.stringify(row));
}

export interface ChildCase {
  readonly key: string;
  readonly name: string;
  /** Seconds before the child is killed and the row recorded as failed. */
  readonly timeoutS: number;
}

export interface DriverOptions {
  readonly bench: string;
  readonly labels: Labels;
  readonly cases: readonly ChildCase[];
  readonly threads: readonly number[];
  /** The results file (JSON lines). */
  readonly out: string;
  /** Keep the rows the results file already has for a case and thread count; run the rest. */
  readonly resume: boolean;
}

/** ARCHC_BENCH_THREADS ("1,2" unless set), checked. */
export function threadCounts(): number[] {
  const spec = process.env["ARCHC_BENCH_THREADS"] ?? "1,2";
  const counts = spec.split(",").map(Number);
  for (const n of counts)
    if (!Number.isInteger(n) || n < 1) {
      console.error(`ARCHC_BENCH_THREADS: '${spec}' is not a list of thread counts (e.g. 1,2)`);
      process.exit(2);
    }
  return counts;
}

/** ARCHC_BENCH_OUT, or runs/bench/NAME-TIME.jsonl (runs/ is not tracked). */
export function resultsPath(bench: string): string {
  const stamp = new Date().toISOString().replace(/:/g, "-").replace(/\..*/, "");
  return process.env["ARCHC_BENCH_OUT"] ?? `runs/bench/${bench}-${stamp}.jsonl`;
}

/** One child: its rows, or why it failed. */
async function runChild(
  c: ChildCase,
  threads: number,
  onRow: (r: ComparisonRow) => void,
): Promise<string | undefined> {
  // The child's scratch files (PyTorch's module): removed here, since a killed child cannot.
  const scratch = mkdtempSync(join(tmpdir(), "archc-bench-"));
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    env: {
      ...process.env,
      ARCHC_THREADS: String(threads),
      ARCHC_BENCH_CHILD: "1",
      ARCHC_BENCH_CASES: c.key,
      ARCHC_BENCH_SCRATCH: scratch,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr: string[] = [];
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (s: string) => {
    process.stderr.write(s);
    stderr.push(...s.split("\n").filter((l) => l.trim()));
    stderr = stderr.slice(-60);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL"); // PyTorch's process dies with it (train_torch.py)
  }, c.timeoutS * 1000);
  const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once("close", (code, signal) => resolve([code, signal])),
  );
  for await (const line of createInterface({ input: child.stdout })) {
    if (line.startsWith(ROW_MARK)) onRow(JSON.parse(line.slice(ROW_MARK.length)) as ComparisonRow);
    else if (line.trim() && !line.startsWith("## ")) console.log(`  ${line}`);
  }
  const [code, signal] = await closed;
  clearTimeout(timer);
  rmSync(scratch, { recursive: true, force: true });
  if (timedOut) return `timed out after ${c.timeoutS} s (ARCHC_BENCH_TIMEOUT_S)`;
  if (code === 0) return undefined;
  return `exited with ${code ?? signal}: ${failureLine(stderr)}`;
}

/**
 * The line of a dead child's stderr that says what killed it: the last error line ("RuntimeError:
 * Aborted(...)", "ModelBuildError: ..."), else the last line that is not a stack frame or Node's
 * version banner.
 */
export function failureLine(stderr: readonly string[]): string {
  const lines = stderr.map((l) => l.trim()).filter((l) => l && !/^at |^Node\.js v|^\^+$/.test(l));
  const error = lines.filter((l) => /^\w*(Error|Exception)\b|Abort|out of memory|Killed/i.test(l));
  return error.pop() ?? lines.pop() ?? "no message";
}

export async function runInChildren(o: DriverOptions): Promise<void> {
  const kept = o.resume ? latestRows(readResults<ComparisonRow>(o.out).rows) : [];
  const rows: ComparisonRow[] = [];
  console.log(`Rows are appended to ${o.out} as they finish.\n`);
  console.log(tableHeader(o.labels).join("\n"));
  const take = (r: ComparisonRow) => {
    rows.push(r);
    console.log(formatRow(r));
  };
  for (const c of o.cases)
    for (const threads of o.threads) {
      const done = kept.filter(
        (r) => r.key === c.key && r.threads === threads && r.status === "ok",
      );
      if (done.length) {
        for (const r of done) take(r);
        continue;
      }
      const load0 = loadAverage();
      const started = new Date().toISOString();
      let reported = 0;
      const error = await runChild(c, threads, (r) => {
        reported++;
        appendResult(o.out, r);
        take(r);
      });
      if (error === undefined && reported > 0) continue;
      const failed: ComparisonRow = {
        bench: o.bench,
        key: c.key,
        name: c.name,
        variant: reported ? `(after ${reported} row(s))` : "-",
        threads,
        status: "failed",
        error: error ?? "the child reported no row",
        load: [load0, loadAverage()],
        started,
        finished: new Date().toISOString(),
      };
      appendResult(o.out, failed);
      take(failed);
    }
  console.log(["", ...finalTables(rows, o.labels)].join("\n"));
}
