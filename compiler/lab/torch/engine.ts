import { spawn } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { weightsFromTfjs } from "../../backends/onnx/weights.js";
import { buildModelFromIR } from "../../backends/tfjs/model.js";
import { emitTorch, torchClassName } from "../../backends/torch/emit.js";
import { safetensors, torchStateDict } from "../../backends/torch/weights.js";
import { packageRoot } from "../../language/paths.js";
import type { IRGraph } from "../../language/ir/types.js";
import { atomicWrite } from "../../util/files.js";
import { runPaths } from "../run/paths.js";
import { closeRun, openRun } from "../run/open.js";
import { seedWeights } from "../train/init.js";
import { writeMetrics, type EpochMetrics } from "../train/metrics.js";
import type { StopPoint } from "../train/loop.js";
import { prepareRun, type SessionOptions, type SessionResult } from "../train/session.js";
import { findPython, TorchEngineError, type Python } from "./python.js";
import { readTorchCheckpoint } from "./checkpoint.js";
import { torchWeightsFile } from "./weights.js";
import { makeWorkDir } from "./workDir.js";
import { dataJob } from "./dataJob.js";

/** The Python file archc ships and runs; it sits beside this module's source in the package. */
export const runnerPath = join(packageRoot, "compiler", "lab", "torch", "runner.py");

/** The run folder's log of the samples each step read (TorchOptions.samplesLog). */
export const samplesLogFile = "samples.jsonl";

export interface TorchOptions {
  /** The interpreter (default: $ARCHC_PYTHON, else the first python3 on PATH with torch). */
  readonly python?: string;
  /** Processes on this machine; more than one runs under torchrun with DDP. */
  readonly nproc?: number;
  readonly nnodes?: number;
  readonly nodeRank?: number;
  /** host:port of node 0, for --nnodes > 1. */
  readonly rdzvEndpoint?: string;
  /** Threads per process (torch.set_num_threads); default torch's own choice. */
  readonly threads?: number;
  /** Train on the CPU even where CUDA is present. */
  readonly cpu?: boolean;
  /** Told what the runner prints on standard error, line by line (default: nothing). */
  readonly onLog?: (line: string) => void;
  /**
   * DataLoader workers per process that read and decode the samples (default: 4 for packs and
   * image folders, at most the cores; 0, the training process itself, for IDX and synthetic
   * data). Never changes the numbers: the same samples in the same order.
   */
  readonly workers?: number;
  /**
   * Writes RUN/samples.jsonl: each step's sample ids as each process read them (a pack's keys;
   * else the data set's sample numbers), every node's processes in node 0's run folder, kept in
   * step with the checkpoint on resume, to check what an epoch trained on (--samples-log).
   */
  readonly samplesLog?: boolean;
  /** Told which interpreter and torch run the training, before it starts. */
  readonly onPython?: (python: Python, processes: number) => void;
}

export { PythonError, TorchEngineError } from "./python.js";

/** trainTorch with these engine options, shaped as the embedded trainer's trainNetwork. */
export function trainTorchWith(t: TorchOptions): (o: SessionOptions) => Promise<SessionResult> {
  return (o) => trainTorch({ ...o, ...t });
}

/** The embedded trainer's starting weights (same seed, same Glorot draws), in torch's names. */
export function initialWeights(graph: IRGraph, seed: number): Uint8Array {
  const model = buildModelFromIR(graph);
  try {
    seedWeights(model, seed);
    return safetensors(torchStateDict(graph, weightsFromTfjs(model, graph)));
  } finally {
    model.dispose();
  }
}

/** A TCP port that is free on this machine now, for a one-machine rendezvous. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function launcher(o: TorchOptions, job: string): Promise<string[]> {
  const nproc = o.nproc ?? 1;
  const nnodes = o.nnodes ?? 1;
  if (nproc === 1 && nnodes === 1) return [runnerPath, job];
  // torchrun (torch.distributed.run) from the interpreter that has torch, through the runner,
  // which mends a bug of torch < 2.0 on Python 3.11 first (see torchrun() in runner.py).
  const common = [runnerPath, "--torchrun", `--nproc_per_node=${nproc}`];
  // One machine: torchrun's --standalone would rendezvous on the fixed port 29400, so two runs
  // at once (two sweeps, two users) would meet in one store and fail; a free port of our own.
  if (nnodes === 1)
    return [
      ...common,
      "--nnodes=1",
      "--rdzv_backend=c10d",
      `--rdzv_endpoint=127.0.0.1:${await freePort()}`,
      `--rdzv_id=archc-${process.pid}-${Date.now()}`,
      runnerPath,
      job,
    ];
  const [host, port] = o.rdzvEndpoint!.split(":");
  return [
    ...common,
    `--nnodes=${nnodes}`,
    `--node_rank=${o.nodeRank ?? 0}`,
    `--master_addr=${host}`,
    `--master_port=${port ?? "29500"}`,
    runnerPath,
    job,
  ];
}

interface Event {
  readonly event: string;
  readonly [k: string]: unknown;
}

/**
 * `archc train --engine torch`: the run the embedded trainer would make (same data, same
 * starting weights, same order of examples, same config and schedule, same run folder with its
 * manifest and metrics.jsonl), trained by PyTorch on the module archc generates, through
 * runner.py. Ctrl-C asks the runner to stop after the step, write its checkpoint and exit.
 */
export async function trainTorch(o: SessionOptions & TorchOptions): Promise<SessionResult> {
  const { config } = o;
  const nproc = o.nproc ?? 1;
  const nnodes = o.nnodes ?? 1;
  if (nnodes > 1 && !o.rdzvEndpoint)
    throw new TorchEngineError("--nnodes above 1 needs --rdzv-endpoint HOST:PORT of node 0");
  const py = findPython(o.python);
  const batch = o.batch ?? config.batch;
  const world = nproc * nnodes;
  if (batch % world)
    throw new TorchEngineError(
      `the batch (${batch}) must be a multiple of the processes (${world}) so that every process takes the same share`,
    );
  const p = await prepareRun(o, "torch");
  const { graph, trainData, valData, epochs, seed } = p;
  // Node ranks above 0 only compute: the run folder is node 0's.
  const lead = (o.nodeRank ?? 0) === 0;
  const run = lead
    ? openRun(o.outDir, p.identity, {
        mode: o.mode ?? (o.resume ? "resume" : "new"),
        command: o.command ?? "train",
        ...(o.source !== undefined ? { source: o.source } : {}),
        runtime: {
          python: py.version,
          pythonPath: py.path,
          torch: py.torch,
          processes: world,
          ...(o.workers !== undefined ? { workers: o.workers } : {}),
        },
      })
    : undefined;
  const work = makeWorkDir();
  try {
    if (run && !run.resume) rmSync(join(o.outDir, torchWeightsFile), { force: true });
    // A checkpoint that is damaged, of another run or a planted pickle is refused here, before
    // anything runs (runner.py checks again: it never unpickles).
    const checkpoint = runPaths(o.outDir).checkpoint;
    if (run?.resume && existsSync(checkpoint)) readTorchCheckpoint(checkpoint, run.key);
    o.onPython?.(py, world);
    const module = join(o.outDir, "model.py");
    // Temp + rename (the file rule): a FIFO or a link planted as model.py is replaced, not
    // written through (a FIFO would block the run forever).
    if (lead) atomicWrite(module, emitTorch(graph, { source: graph.network }));
    const train = await dataJob(trainData, work, "train");
    const val = valData ? await dataJob(valData, work, "val") : undefined;
    const weights = join(work, "initial.safetensors");
    writeFileSync(weights, initialWeights(graph, seed));
    const last = graph.nodes[graph.output]!;
    const job = join(work, "job.json");
    writeFileSync(
      job,
      JSON.stringify({
        module: lead ? module : join(work, "model.py"),
        class: torchClassName(graph.network),
        network: graph.network,
        initialWeights: weights,
        train,
        ...(val ? { val } : {}),
        preciseBnImages: p.batchNorm.precise ? p.batchNorm.images : 0,
        classes: last.shape[0]!,
        batch,
        epochs,
        seed,
        config,
        probabilities:
          (last.op === "dense" || last.op === "act") && last.attrs.activation === "softmax",
        outDir: o.outDir,
        checkpoint,
        best: runPaths(o.outDir).best,
        key: run?.key ?? "",
        resume: run?.resume ?? o.resume ?? false,
        stopFile: join(work, "stop"),
        cpu: o.cpu ?? false,
        ...(o.workers !== undefined ? { workers: o.workers } : {}),
        // Every node gathers its processes' samples; node 0 writes every process's.
        ...(o.samplesLog ? { logSamples: true } : {}),
        ...(o.samplesLog && lead ? { samplesLog: join(o.outDir, samplesLogFile) } : {}),
        ...(o.threads ? { threads: o.threads } : {}),
      }),
    );
    if (!lead) writeFileSync(join(work, "model.py"), emitTorch(graph, { source: graph.network }));
    const result = await launch(
      join(work, "stop"),
      py,
      o,
      job,
      epochs,
      trainData.skipped?.length ?? 0,
      graph,
    );
    return {
      ...result,
      ...(valData ? { valName: valData.name } : {}),
      batchNorm: p.batchNorm,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
    if (run) closeRun(run);
  }
}

async function launch(
  stopFile: string,
  py: Python,
  o: SessionOptions & TorchOptions,
  job: string,
  epochs: number,
  skipped: number,
  graph: IRGraph,
): Promise<Omit<SessionResult, "batchNorm">> {
  const child = spawn(py.path, await launcher(o, job), {
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group: Ctrl-C reaches archc alone, which asks for a stop after the step.
    detached: true,
    // ARCHC_PARENT_PID: the runner exits when this process dies, even if that happens before
    // it could look (runner.py's watch_parent).
    env: { ...process.env, PYTHONUNBUFFERED: "1", ARCHC_PARENT_PID: String(process.pid) },
  });
  let history: EpochMetrics[] = [];
  let best: SessionResult["best"];
  /** What the runner said was wrong (an "error" event): the whole message, not a traceback. */
  let refused: string | undefined;
  const errors: string[] = [];
  let interrupted = false;
  let startEpoch = 0;
  let asked = false;
  let batches = 0;
  let stoppedAt: StopPoint | undefined;
  // Files the runner skipped as undecodable (--skip-corrupt), each once whatever the epochs.
  const skippedFiles = new Set<string>();
  const poll = setInterval(() => {
    if (!asked && o.shouldStop?.()) {
      asked = true;
      writeFileSync(stopFile, "");
    }
  }, 50);
  // Quitting archc (a second Ctrl-C) takes the processes it started with it.
  const kill = () => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // Already gone.
    }
  };
  process.on("exit", kill);
  const exited = new Promise<number>((resolve) =>
    child.on("close", (code, signal) => resolve(code ?? (signal ? 128 : 1))),
  );
  createInterface({ input: child.stderr! }).on("line", (line) => {
    errors.push(line);
    if (errors.length > 40) errors.shift();
    o.onLog?.(line);
  });
  for await (const line of createInterface({ input: child.stdout! })) {
    let e: Event;
    try {
      e = JSON.parse(line) as Event;
    } catch {
      o.onLog?.(line);
      continue;
    }
    if (e.event === "start") {
      startEpoch = e["startEpoch"] as number;
      history = [...(e["history"] as EpochMetrics[])];
      // The checkpoint, not metrics.jsonl, records what was done: archc may have died before
      // writing the last epochs the runner finished.
      if (history.length) writeMetrics(o.outDir, history);
    } else if (e.event === "step") {
      batches = e["batches"] as number;
      o.onStep?.({
        epoch: e["epoch"] as number,
        batch: e["batch"] as number,
        batches: e["batches"] as number,
        epochs,
        step: e["step"] as number,
        loss: e["loss"] as number,
        accuracy: e["accuracy"] as number,
        imagesPerSec: e["imagesPerSec"] as number,
      });
    } else if (e.event === "epoch") {
      const m = e["metrics"] as EpochMetrics;
      history = [...(e["history"] as EpochMetrics[])];
      writeMetrics(o.outDir, history);
      o.onEpoch?.(m);
    } else if (e.event === "stopped") {
      interrupted = true;
      const st = e["state"] as { epoch: number; batch: number; step: number };
      stoppedAt = { epoch: st.epoch + 1, batch: st.batch, batches, step: st.step };
    } else if (e.event === "error") refused = e["message"] as string;
    else if (e.event === "log") o.onLog?.(e["message"] as string);
    else if (e.event === "skipped") skippedFiles.add(e["path"] as string);
    else if (e.event === "done" && e["best"]) best = e["best"] as SessionResult["best"];
  }
  const code = await exited;
  clearInterval(poll);
  process.off("exit", kill);
  if (code !== 0 && refused) throw new TorchEngineError(refused);
  if (code !== 0 && !interrupted) {
    const why = errors
      .filter((l) => l.trim())
      .slice(-8)
      .join("\n");
    throw new TorchEngineError(
      `the torch runner (${py.path}, torch ${py.torch}) exited with status ${code}:\n${why}`,
    );
  }
  return {
    history,
    interrupted,
    startEpoch,
    ...(best ? { best } : {}),
    stoppedEarly: false,
    ...(stoppedAt ? { stoppedAt } : {}),
    params: graph.totals.params.total,
    epochs,
    skipped: skipped + skippedFiles.size,
  };
}
