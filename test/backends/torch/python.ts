import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

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
