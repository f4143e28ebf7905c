import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeWorkDir, removeStaleWorkDirs } from "../../../compiler/lab/torch/workDir.js";
import { inCI, needPython, python, pythonProblem } from "../../backends/torch/python.js";

/**
 * The torch engine's scratch folder in the temp folder: a run killed with SIGKILL cannot remove
 * it, so the next run removes those whose owner is gone, and nothing else.
 */
const repo = join(import.meta.dirname, "..", "..", "..");
const problem = pythonProblem("torch, numpy");

/** The pid of a process that has ended. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], {
    encoding: "utf8",
  });
  return Number(r.stdout);
}

function scratch(base: string, name: string, owner?: object): string {
  const dir = join(base, name);
  mkdirSync(dir);
  if (owner) writeFileSync(join(dir, "owner.json"), JSON.stringify(owner));
  writeFileSync(join(dir, "train.bin"), Buffer.alloc(1024));
  return dir;
}

describe("the torch engine's scratch folders", () => {
  it("removes only folders that name this machine and a process that has ended", () => {
    const base = mkdtempSync(join(tmpdir(), "archc-workdir-"));
    const gone = deadPid();
    const stale = scratch(base, "archc-torch-1-aaaaaa", { pid: gone, host: hostname() });
    const kept = [
      scratch(base, "archc-torch-2-bbbbbb", { pid: process.pid, host: hostname() }),
      scratch(base, "archc-torch-3-cccccc", { pid: gone, host: `not-${hostname()}` }),
      scratch(base, "archc-torch-4-dddddd"),
      scratch(base, "archc-torch-5-eeeeee", { pid: "12" }),
      scratch(base, "archc-torch-engine-ffffff"),
      scratch(base, "other-gggggg", { pid: gone, host: hostname() }),
    ];
    // A link by the right name to a stale folder elsewhere is not followed.
    const elsewhere = mkdtempSync(join(tmpdir(), "archc-workdir-target-"));
    writeFileSync(join(elsewhere, "owner.json"), JSON.stringify({ pid: gone, host: hostname() }));
    symlinkSync(elsewhere, join(base, "archc-torch-6-hhhhhh"));

    const made = makeWorkDir(base);
    expect(existsSync(stale)).toBe(false);
    for (const k of [...kept, elsewhere]) expect(existsSync(k), k).toBe(true);
    expect(existsSync(join(base, "archc-torch-6-hhhhhh"))).toBe(true);
    // Its own folder is live while this process is.
    expect(made.startsWith(join(base, `archc-torch-${process.pid}-`))).toBe(true);
    expect(removeStaleWorkDirs(base)).toEqual([]);
    expect(existsSync(made)).toBe(true);
  });

  it.skipIf(problem !== undefined && !inCI)(
    "a train --engine torch killed with SIGKILL leaves its folder, which the next run removes",
    async () => {
      needPython(problem);
      const base = mkdtempSync(join(tmpdir(), "archc-workdir-"));
      const spec = join(base, "small.arch");
      writeFileSync(
        spec,
        "network small(classes = 3) {\n  input 8x8x3\n  conv 3x3 4 -> relu\n  gap -> dense classes softmax\n}\n",
      );
      const env = { ...process.env, TMPDIR: base, ARCHC_PYTHON: python };
      const train = (out: string, epochs: string) => [
        join(repo, "bin", "archc.cjs"),
        "train",
        spec,
        "--engine",
        "torch",
        "--data",
        "synthetic:64",
        "--batch",
        "8",
        "--epochs",
        epochs,
        "--out",
        join(base, out),
        "--quiet",
      ];
      const scratchDirs = () => readdirSync(base).filter((n) => n.startsWith("archc-torch-"));

      const child = spawn(process.execPath, train("killed", "1000"), { env, stdio: "ignore" });
      const exited = new Promise((r) => child.on("exit", r));
      // Killed once its runner has the job: the data and weights are in the scratch folder.
      const deadline = Date.now() + 90_000;
      while (!scratchDirs().some((d) => existsSync(join(base, d, "job.json")))) {
        if (Date.now() > deadline) throw new Error("the torch run never made its scratch folder");
        await new Promise((r) => setTimeout(r, 20));
      }
      child.kill("SIGKILL");
      await exited;
      expect(scratchDirs()).toHaveLength(1);

      const next = spawnSync(process.execPath, train("next", "1"), { env, encoding: "utf8" });
      expect(next.status, next.stderr).toBe(0);
      expect(scratchDirs()).toEqual([]);
    },
    180_000,
  );
});
