import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";

/**
 * The Python that the PyTorch tests take as their oracle (Debian's python3-torch; CI installs
 * it), and whether it can run them. Light: no tfjs, no onnxruntime.
 */
export const python = process.env["ARCHC_TEST_PYTHON"] ?? "/usr/bin/python3";
export const repo = join(import.meta.dirname, "..", "..", "..");
export const inCI =
  !!process.env["CI"] && !["0", "false"].includes(process.env["CI"]!.toLowerCase());

/** Why `python` cannot import `modules` (e.g. "torch, numpy"), or undefined when it can. */
export function pythonProblem(modules = "torch, numpy"): string | undefined {
  if (!existsSync(python)) return `${python} does not exist`;
  const r = spawnSync(python, ["-c", `import ${modules}`], { encoding: "utf8" });
  if (r.status !== 0)
    return `${python} cannot import ${modules} (${r.stderr.trim().split("\n").pop()})`;
  return undefined;
}

/** In CI a missing oracle fails the test (skipIf leaves it running) with what to install. */
export function needPython(problem: string | undefined, apt = "python3-torch"): void {
  if (problem) throw new Error(`${problem}: apt-get install -y ${apt}`);
}

/**
 * Runs `script` on `entries` (written as `dir/cases.json`): one JSON record per line, per entry,
 * in order and named as the entries are.
 */
export function runCases(
  script: string,
  dir: string,
  entries: readonly { readonly name: string }[],
): Record<string, number | string>[] {
  writeFileSync(join(dir, "cases.json"), JSON.stringify(entries));
  const out = execFileSync(python, [script, join(dir, "cases.json")], { encoding: "utf8" });
  const results = out
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, number | string>);
  expect(results.map((r) => r["name"])).toEqual(entries.map((e) => e.name));
  return results;
}

/**
 * Time one oracle run may take: Python's start, `import torch`, building a network and a forward
 * pass. Measured on 2 cores shared with other test files (bench/family_reference.py --compare,
 * ShuffleNet v1 and MobileNet v1 at 64x64): 7-8 s a run at load 10, 14-22 s at load 20-25
 * (`import torch` alone 5.7 s at load 10). 90 s is four times the worst of those. A test gives
 * itself this per Python run it makes, so its limit grows with its work; runs are not timed one
 * by one: a slow machine is no failure, a hung run still is, at the test's limit.
 */
export const ORACLE_RUN_MS = 90_000;

/** The test timeout for `runs` oracle runs. */
export function oracleTimeout(runs: number): number {
  return runs * ORACLE_RUN_MS;
}

/**
 * Runs `python args` without blocking the event loop, so that the test's timeout can end it:
 * `signal` (the test context's) kills the process when the test times out or is cancelled.
 */
export function runPython(
  args: readonly string[],
  signal?: AbortSignal,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(python, args, { stdio: ["ignore", "pipe", "pipe"], ...(signal && { signal }) });
    let stdout = "";
    let stderr = "";
    p.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    p.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    p.on("error", reject);
    p.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}
