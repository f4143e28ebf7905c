import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { inCI, needPython, python, pythonProblem, repo } from "../../backends/torch/python.js";

/**
 * The torch runner must end when archc does. archc may die (kill -9) while the runner is still
 * importing torch, before it looks at its parent: getppid() then already names init, which
 * never dies, and a runner that watched that trained forever. archc names itself in
 * ARCHC_PARENT_PID instead. The job file is a FIFO nobody writes: a runner that does not notice
 * its parent is gone blocks on it and the test fails at its limit.
 */
const runner = join(repo, "compiler", "lab", "torch", "runner.py");
const problem = pythonProblem("torch");
const dir = mkdtempSync(join(tmpdir(), "archc-orphan-"));
const fifo = join(dir, "job.json");
spawnSync("mkfifo", [fifo]);
const started: number[] = [];

afterAll(() => {
  for (const pid of started) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone, as it should be
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function gone(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return !alive(pid);
}

describe.skipIf(!!problem && !inCI)("the torch runner without its parent", () => {
  it("exits 137 when the parent archc named is not its parent any more", async () => {
    needPython(problem);
    const child = spawn(python, [runner, fifo], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ARCHC_PARENT_PID: String(process.pid + 1_000_000) },
    });
    started.push(child.pid!);
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    expect({ code, stderr }).toEqual({ code: 137, stderr: "" });
  }, 120_000);

  it("ends when archc died while it was still starting", async () => {
    needPython(problem);
    // sh plays archc: it names itself, starts the runner and dies at once, long before the
    // runner has imported torch; the runner is left to init.
    const sh = spawnSync(
      "sh",
      ["-c", `ARCHC_PARENT_PID=$$ "$0" "$1" "$2" >/dev/null 2>&1 & echo $!`, python, runner, fifo],
      { encoding: "utf8" },
    );
    const pid = Number(sh.stdout.trim());
    expect(pid).toBeGreaterThan(0);
    started.push(pid);
    expect(await gone(pid, 100_000)).toBe(true);
  }, 120_000);

  it("ends with its parent even while another thread holds the GIL", async () => {
    needPython(problem);
    // The watching thread needs the GIL. A two-node test's worker deadlocked in gloo's teardown
    // with the GIL held and outlived its dead agent by 30 minutes, spinning on a socket. Here the
    // runner's own watch_parent runs, then libc's sleep is called through ctypes.PyDLL, which
    // keeps the GIL; sh is the parent, killed once the child says it is ready.
    const child = [
      "import ctypes, importlib.util, sys",
      "spec = importlib.util.spec_from_file_location('runner', sys.argv[1])",
      "runner = importlib.util.module_from_spec(spec); spec.loader.exec_module(runner)",
      "runner.watch_parent(); print('ready', flush=True)",
      "ctypes.PyDLL(None).sleep(600)",
    ].join("\n");
    const sh = spawn(
      "sh",
      ["-c", `ARCHC_PARENT_PID=$$ "$0" -c "$1" "$2" & echo $!; wait`, python, child, runner],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    started.push(sh.pid!);
    let out = "";
    await new Promise<void>((resolve, reject) => {
      sh.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (/ready/.test(out)) resolve();
      });
      sh.on("exit", () => reject(new Error(`sh ended before the child was ready: ${out}`)));
    });
    const pid = Number(out.split("\n")[0]);
    expect(pid).toBeGreaterThan(0);
    started.push(pid);
    expect(alive(pid)).toBe(true);
    process.kill(sh.pid!, "SIGKILL");
    expect(await gone(pid, 30_000)).toBe(true);
  }, 120_000);
});
