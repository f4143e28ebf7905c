import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { runnerPath, trainTorch } from "../../../compiler/lab/torch/engine.js";
import { mustBuild, runCli } from "../../helpers.js";
import { inCI, needPython, python, pythonProblem } from "../../backends/torch/python.js";

/**
 * The torch engine resumes exactly (issue 27.7) and never unpickles what a run folder holds
 * (27.2): a run stopped at an epoch boundary, inside an epoch, or killed (archc or a worker,
 * kill -9), then resumed, ends with the very metrics and weights of the uninterrupted run, on 1
 * and 2 processes. Dropout makes every rank's random generator matter.
 */
const problem = pythonProblem("torch, numpy");
const repo = join(import.meta.dirname, "..", "..", "..");

const spec = `network small(classes = 4) {
  input 8x8x3
  conv 3x3/2 8 -> bn -> relu
  sepconv 3x3 8 parts=2 -> bn -> relu
  gap -> dropout 0.4
  dense classes softmax
}
`;
const graph = mustBuild(spec);
const config = {
  ...(await import("../../../compiler/language/config/train.js")).fallbackTrainConfig,
  optimizer: { kind: "sgd", lr: 0.05, momentum: 0.9, nesterov: false },
  schedule: { kind: "exponential", rate: 0.5, every: { amount: 1, unit: "epochs" } },
  weightDecay: 1e-4,
  batch: 16,
  epochs: 3,
} as const;
// 32 steps an epoch: room for a stop inside one, and runs of seconds.
const base = { graph, config, data: "synthetic:512", python, threads: 1 } as const;

interface Metrics {
  epoch: number;
  step: number;
  lr: number;
  loss: number;
  accuracy: number;
  valLoss: number;
  valAccuracy: number;
}
const metrics = (dir: string): Omit<Metrics, "imagesPerSec" | "seconds">[] =>
  readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => {
      const m = JSON.parse(l) as Metrics;
      return {
        epoch: m.epoch,
        step: m.step,
        lr: m.lr,
        loss: m.loss,
        accuracy: m.accuracy,
        valLoss: m.valLoss,
        valAccuracy: m.valAccuracy,
      };
    });

/** The run's weights file, byte for byte (its digest covers every value). */
const weightsOf = (dir: string) => readFileSync(join(dir, "weights.safetensors"));

/** Processes whose command line mentions `text` (the runner's job under a folder of ours). */
function processesWith(text: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, "utf8").includes(text)) out.push(Number(p));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

async function until(test: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function folder(name: string): string {
  return join(mkdtempSync(join(tmpdir(), "archc-torch-resume-")), name);
}

describe.skipIf(problem !== undefined && !inCI)("the torch engine resumes exactly", () => {
  beforeAll(async () => {
    needPython(problem);
    await initBackend("wasm");
  });

  // The uninterrupted run of each process count, trained once for the tests that compare with it.
  const uninterrupted = new Map<number, Promise<string>>();
  const whole = (nproc: number) => {
    if (!uninterrupted.has(nproc)) {
      const dir = folder("whole");
      uninterrupted.set(
        nproc,
        trainTorch({ ...base, nproc, outDir: dir }).then(() => dir),
      );
    }
    return uninterrupted.get(nproc)!;
  };

  for (const nproc of [1, 2]) {
    it(`${nproc} process(es): resumed at an epoch boundary, then inside an epoch, as the uninterrupted run`, async () => {
      const o = { ...base, nproc };
      const reference = await whole(nproc);
      expect(metrics(reference).map((m) => m.epoch)).toEqual([1, 2, 3]);
      const dir = folder("resumed");
      // Two epochs, then --epochs 3 --resume (the case), stopped at the third step of
      // epoch 3, then resumed again.
      await trainTorch({ ...o, outDir: dir, epochs: 2 });
      let asked = false;
      const stopped = await trainTorch({
        ...o,
        outDir: dir,
        epochs: 3,
        resume: true,
        onStep: (r) => {
          if (asked || r.epoch !== 2 || r.batch < 3) return;
          // The runner does not wait for archc: it is paused while the stop is asked, so the stop
          // lands inside this epoch however far ahead of archc it ran.
          const runners = processesWith(runnerPath);
          for (const p of runners) process.kill(p, "SIGSTOP");
          asked = true;
          setTimeout(() => runners.forEach((p) => process.kill(p, "SIGCONT")), 300);
        },
        shouldStop: () => asked,
      });
      expect(stopped.startEpoch).toBe(2);
      expect(stopped.interrupted).toBe(true);
      expect(metrics(dir)).toHaveLength(2);
      expect(metrics(dir)).toEqual(metrics(reference).slice(0, 2));
      await trainTorch({ ...o, outDir: dir, resume: true });
      expect(metrics(dir)).toEqual(metrics(reference));
      expect(weightsOf(dir).equals(weightsOf(reference))).toBe(true);
    }, 600_000);
  }

  it("after kill -9 of archc in epoch 2 (the runner does not outlive it), as the uninterrupted run", async () => {
    const reference = await whole(1);
    const killed = folder("killed");
    const tmp = join(killed, "..", "tmp");
    mkdirSync(tmp);
    // archc itself, in its own process, killed by SIGKILL at the second step of epoch 2.
    const script = `
      const { trainTorch } = await import("./compiler/lab/torch/engine.ts");
      const { initBackend } = await import("./compiler/backends/tfjs/runtime.ts");
      const { mustBuild } = await import("./test/helpers.ts");
      await initBackend("cpu");
      const o = ${JSON.stringify({ ...base, graph: undefined, outDir: killed })};
      await trainTorch({ ...o, graph: mustBuild(${JSON.stringify(spec)}), config: ${JSON.stringify(config)},
        onStep: (r) => { if (r.epoch === 1 && r.batch === 2) process.kill(process.pid, "SIGKILL"); } });`;
    const child = spawn(process.execPath, ["--import", "tsx", "-e", script], {
      cwd: repo,
      env: { ...process.env, TMPDIR: tmp },
      stdio: "ignore",
    });
    const signal = await new Promise((r) => child.on("exit", (_, s) => r(s)));
    expect(signal).toBe("SIGKILL");
    // The runner notices and exits too, at once: nothing writes the folder behind a resume.
    await until(() => processesWith(tmp).length === 0, "the orphaned runner to exit", 10_000);
    expect(metrics(killed)).toHaveLength(1);
    await trainTorch({ ...base, outDir: killed, resume: true });
    expect(metrics(killed)).toEqual(metrics(reference));
    expect(weightsOf(killed).equals(weightsOf(reference))).toBe(true);
  }, 600_000);

  it("after kill -9 of a worker in epoch 2 (exit 1, saying so), as the uninterrupted run", async () => {
    const o = { ...base, nproc: 2 };
    const reference = await whole(2);
    const killed = folder("killed");
    let done = false;
    const failure = await trainTorch({
      ...o,
      outDir: killed,
      onStep: (r) => {
        if (done || r.epoch !== 1 || r.batch !== 2) return;
        done = true;
        // A worker is a runner process that is not torchrun's agent.
        const workers = processesWith(runnerPath).filter(
          (p) => !readFileSync(`/proc/${p}/cmdline`, "utf8").includes("--torchrun"),
        );
        const rank1 = workers.find((p) =>
          readFileSync(`/proc/${p}/environ`, "utf8").split("\0").includes("RANK=1"),
        );
        if (rank1) process.kill(rank1, "SIGKILL");
      },
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(done).toBe(true);
    expect(failure?.message).toMatch(/the torch runner .* exited with status/);
    expect(metrics(killed)).toHaveLength(1);
    await trainTorch({ ...o, outDir: killed, resume: true });
    expect(metrics(killed)).toEqual(metrics(reference));
    expect(weightsOf(killed).equals(weightsOf(reference))).toBe(true);
  }, 600_000);
});

describe.skipIf(problem !== undefined && !inCI)("nothing in a run folder is unpickled", () => {
  it("a planted pickle as checkpoint.bin never runs: resume refuses it naming the file, exit 1", async () => {
    await initBackend("wasm");
    const dir = mkdtempSync(join(tmpdir(), "archc-torch-pickle-"));
    const file = join(dir, "small.arch");
    writeFileSync(file, spec);
    const out = join(dir, "run");
    const args = ["train", file, "--data", "synthetic:32", "--engine", "torch", "--quiet"];
    const first = await runCli(...args, "--epochs", "1", "--out", out);
    expect(first.code, first.stderr).toBe(0);
    const marker = join(dir, "PWNED");
    const checkpoint = join(out, "checkpoint.bin");
    // Both pickle flavours: the plain protocol and torch.save's zip.
    for (const how of ["pickle.dump(Evil(), f)", "torch.save({'x': Evil()}, f)"]) {
      const plant = spawnSync(python, [
        "-c",
        [
          "import os, pickle, sys, torch",
          "class Evil:",
          "    def __reduce__(self):",
          "        return (os.system, ('touch ' + sys.argv[2],))",
          `f = open(sys.argv[1], 'wb'); ${how}; f.close()`,
        ].join("\n"),
        checkpoint,
        marker,
      ]);
      expect(plant.status, plant.stderr.toString()).toBe(0);
      const r = await runCli(...args, "--epochs", "2", "--out", out, "--resume");
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${checkpoint} is a pickle`);
      expect(existsSync(marker)).toBe(false);
      // The runner, given the file directly, refuses it too (archc's check is not the only one).
      const job = join(dir, "job.json");
      writeFileSync(
        job,
        JSON.stringify({
          module: join(out, "model.py"),
          class: "Small",
          network: "small",
          checkpoint,
          resume: true,
          outDir: out,
          cpu: true,
        }),
      );
      const runner = spawnSync(python, [runnerPath, job], { encoding: "utf8" });
      expect(runner.status).toBe(1);
      expect(runner.stdout).toContain(`${checkpoint} is a pickle`);
      expect(existsSync(marker)).toBe(false);
    }
    // A damaged checkpoint (one flipped bit in its header) is refused the same way.
    const again = await runCli(...args, "--epochs", "1", "--out", out, "--fresh");
    expect(again.code, again.stderr).toBe(0);
    const bytes = readFileSync(checkpoint);
    bytes[40] = bytes[40]! ^ 1;
    writeFileSync(checkpoint, bytes);
    const damaged = await runCli(...args, "--epochs", "2", "--out", out, "--resume");
    expect(damaged.code).toBe(1);
    expect(damaged.stderr).toContain(checkpoint);
  }, 300_000);
});
