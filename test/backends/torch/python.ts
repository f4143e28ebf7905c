import { execFileSync, spawnSync } from "node:child_process";
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
