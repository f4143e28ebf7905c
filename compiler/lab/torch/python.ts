import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";

/** The torch engine cannot run or failed; the message says why (train reports it, exit 1). */
export class TorchEngineError extends Error {
  override name = "TorchEngineError";
}

/** No interpreter with PyTorch: says what was tried and what to install. */
export class PythonError extends TorchEngineError {}

export interface Python {
  readonly path: string;
  /** Python's own version, e.g. 3.11.2. */
  readonly version: string;
  readonly torch: string;
  readonly cuda: boolean;
}

const probe =
  "import platform, numpy, torch; print(torch.__version__, torch.cuda.is_available(), platform.python_version())";

function tryPython(path: string): Python | string {
  const r = spawnSync(path, ["-c", probe], { encoding: "utf8", timeout: 120_000 });
  if (r.error)
    return (r.error as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : r.error.message;
  if (r.status !== 0) {
    const last = r.stderr.trim().split("\n").pop() ?? "";
    return last || `exit status ${r.status}`;
  }
  const [torch, cuda, version] = r.stdout.trim().split(/\s+/);
  return { path, version: version ?? "?", torch: torch!, cuda: cuda === "True" };
}

const install =
  "install PyTorch and NumPy for it (Debian/Ubuntu: apt-get install python3-torch; elsewhere: pip install torch numpy)";

/**
 * The Python the torch engine runs: `--python`, else $ARCHC_PYTHON, else the first `python3` (then
 * `python`) on PATH that imports torch and numpy. An interpreter named explicitly is never
 * replaced by another.
 */
export function findPython(explicit?: string, env: NodeJS.ProcessEnv = process.env): Python {
  const named = explicit ?? env["ARCHC_PYTHON"];
  if (named) {
    const r = tryPython(named);
    if (typeof r !== "string") return r;
    const how = explicit ? "--python" : "ARCHC_PYTHON";
    throw new PythonError(`${how} ${named} cannot run the torch engine (${r}): ${install}`);
  }
  const tried: string[] = [];
  const dirs = (env["PATH"] ?? "").split(delimiter).filter(Boolean);
  for (const name of ["python3", "python"]) {
    for (const dir of dirs) {
      const path = join(dir, name);
      if (!existsSync(path) || tried.some((t) => t.startsWith(`${path}:`))) continue;
      const r = tryPython(path);
      if (typeof r !== "string") return r;
      tried.push(`${path}: ${r}`);
    }
  }
  throw new PythonError(
    `no Python with PyTorch found (${tried.length ? `tried ${tried.join("; ")}` : "no python3 on PATH"}): ${install}, or point --python or ARCHC_PYTHON at an interpreter that has it`,
  );
}
