/**
 * `npm run bench -- train`: archc's embedded trainer (tfjs wasm with archc's gradient kernels)
 * and PyTorch side by side, on the same networks built from the same IR (`--target torch`), the
 * same batch shape, optimiser (SGD, momentum 0.9) and loss, at the same thread count (the wasm
 * backend's ARCHC_THREADS, torch.set_num_threads). PyTorch comes from Debian's python3-torch
 * (/usr/bin/python3); without it that column says so.
 *
 * Each case at each thread count runs in a child process of its own (caseChildren.ts): both
 * sides take their warm-up steps, then rounds alternate them, the side that goes first changing
 * each round, so a machine shared with other work slows both alike: the ratio is the figure to
 * read. A row gives each side's median and range over the timed steps, wall-clock and CPU time,
 * and the load average when it started and ended; it is printed and appended to the results
 * file as soon as it is measured, and a child that aborts or times out leaves a failed row.
 *
 * Cases: mini_xception at parts = 1, 2, 4, 8, 16 and depthwise (keys mini1 ... mini16, mini;
 * one warm-up step, 3 rounds of 4 steps), Xception 299x299 batch 8 at parts = 1, 8 and
 * depthwise (xception1, xception8, xception; one warm-up step, 3 rounds of 1 step).
 * Variables: ARCHC_BENCH_CASES=mini,mini4,... picks cases, `xception:SIZE:BATCH[:PARTS]` (e.g.
 * xception:150:8:1) adds a smaller Xception; ARCHC_BENCH_THREADS (default 1,2);
 * ARCHC_BENCH_WARMUP, ARCHC_BENCH_STEPS, ARCHC_BENCH_ROUNDS override every case's own;
 * ARCHC_BENCH_TIMEOUT_S a child's time limit (default 900 s mini_xception, 5400 s Xception);
 * ARCHC_BENCH_OUT the results file (default runs/bench/train-TIME.jsonl), and `--resume` keeps
 * the rows it already has for a case and thread count; ARCHC_BENCH_STRATEGIES=split,native,auto
 * measures the grouped layers under each (a row each, interleaved; default auto, the cost
 * model's choice). `--quick`: mini_xception only. `--profile` also prints where archc's step
 * goes (phases, kernels, and the kernel calls and time outside them per step).
 */
import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  checkpointedVariableGrads,
  trainingNeedsCheckpoints,
} from "../compiler/backends/tfjs/checkpoint.js";
import { fusedMomentum } from "../compiler/backends/tfjs/fusedMomentum.js";
import { frugalVariableGrads } from "../compiler/backends/tfjs/gradients.js";
import { memoryBudget } from "../compiler/backends/tfjs/grouped/index.js";
import { buildModelFromIR } from "../compiler/backends/tfjs/model.js";
import { initBackend } from "../compiler/backends/tfjs/runtime.js";
import { emitTorch, torchClassName } from "../compiler/backends/torch/emit.js";
import { compileSpec } from "../compiler/index.js";
import type { IRGraph } from "../compiler/language/ir/types.js";
import { packageRoot } from "../compiler/language/paths.js";
import {
  countOverrides,
  isChild,
  partsName,
  reportRow,
  resultsPath,
  runInChildren,
  scratchDir,
  threadCounts,
} from "./caseChildren.js";
import { TRAIN_LABELS, type ComparisonRow } from "./comparison.js";
import { loadAverage, summarize, timed, type Timed } from "./timing.js";
import { TorchTrainer, torchMissing } from "./torchTrainer.js";

export interface Case {
  readonly key: string;
  readonly name: string;
  readonly file: string;
  readonly args: Record<string, string | number>;
  readonly batch: number;
  /** Untimed steps each side takes first; then rounds of `steps` timed steps per side. */
  readonly warmUp: number;
  readonly steps: number;
  readonly rounds: number;
  /** Seconds before the case's child is killed and its row recorded as failed. */
  readonly timeoutS: number;
}

/** ARCHC_BENCH_WARMUP, _STEPS, _ROUNDS and _TIMEOUT_S override every case's own. */
function configured(c: Case): Case {
  const o = countOverrides();
  return {
    ...c,
    warmUp: o.warmUp ?? c.warmUp,
    steps: o.steps ?? c.steps,
    rounds: o.rounds ?? c.rounds,
    timeoutS: o.timeoutS ?? c.timeoutS,
  };
}

export const miniCase = (parts: number | "depthwise"): Case => ({
  key: parts === "depthwise" ? "mini" : `mini${parts}`,
  name: `mini_xception 28x28x1, ${partsName(parts)}, batch 32`,
  file: "mini_xception.arch",
  args: parts === "depthwise" ? {} : { parts },
  batch: 32,
  warmUp: 1,
  steps: 4,
  rounds: 3,
  timeoutS: 900,
});

/**
 * Xception at SIZExSIZE: a step takes seconds to minutes, so one warm-up step and rounds of one
 * step each (three timed steps a side by default), alternating.
 */
const xceptionCase = (
  parts: number | "depthwise",
  size = 299,
  batch = 8,
  key = parts === "depthwise" ? "xception" : `xception${parts}`,
): Case => ({
  key,
  name: `Xception ${size}x${size}x3, ${partsName(parts)}, batch ${batch}`,
  file: "xception.arch",
  args: { ...(parts === "depthwise" ? {} : { parts }), ...(size === 299 ? {} : { size }) },
  batch,
  warmUp: 1,
  steps: 1,
  rounds: 3,
  timeoutS: 5400,
});

/** The continuum: mini_xception from regular to depthwise, and Xception at three points. */
const CASES: readonly Case[] = [
  ...([1, 2, 4, 8, 16, "depthwise"] as const).map(miniCase),
  ...([1, 8, "depthwise"] as const).map((p) => xceptionCase(p)),
];

/**
 * ARCHC_BENCH_CASES's cases (every case by default; `--quick`: mini_xception's only), with
 * `xception:SIZE:BATCH[:PARTS]` for a smaller Xception (e.g. xception:150:8:1).
 */
function pickCases(argv: readonly string[]): Case[] {
  const picked = process.env["ARCHC_BENCH_CASES"]?.split(",");
  if (!picked)
    return CASES.filter((c) => !argv.includes("--quick") || c.file !== "xception.arch").map(
      configured,
    );
  return picked.map((key) => {
    const known = CASES.find((c) => c.key === key);
    if (known) return configured(known);
    const m = /^xception:(\d+):(\d+)(?::(\d+|depthwise))?$/.exec(key);
    if (m && Number(m[1]) >= 32 && Number(m[2]) >= 1) {
      const parts = m[3] === undefined || m[3] === "depthwise" ? "depthwise" : Number(m[3]);
      return configured(xceptionCase(parts, Number(m[1]), Number(m[2]), key));
    }
    console.error(
      `ARCHC_BENCH_CASES: unknown case '${key}'; known: ${CASES.map((c) => c.key).join(", ")}, xception:SIZE:BATCH[:PARTS]`,
    );
    process.exit(2);
  });
}

/** Cross-entropy on a softmax output, as the trainer computes it (compiler/lab/train/loop.ts). */
function lossOf(y: tf.Tensor, out: tf.Tensor): tf.Scalar {
  const eps = 1e-7;
  return tf.neg(
    tf.mean(tf.sum(tf.mul(y, tf.log(tf.clipByValue(out, eps, 1 - eps))), -1)),
  ) as tf.Scalar;
}

export class ArchcSide {
  private readonly model: tf.LayersModel;
  // The trainer's optimizer (one fused call a variable on wasm).
  private readonly opt: tf.Optimizer = fusedMomentum(0.01, 0.9);
  private readonly vars: tf.Variable[];
  private readonly classes: number;
  private readonly xData: Float32Array;
  private readonly labels: Int32Array;
  /** As `archc train` decides: recompute segments when a plain step would not fit. */
  readonly checkpoint: boolean;
  /** The budget the trainer takes once: it decides how many segments are recomputed. */
  private readonly budget = memoryBudget();

  /** The grouped layers' strategies, counted ("native x8, split x2"), or "" without any. */
  chosen = "";

  constructor(
    readonly graph: IRGraph,
    readonly batch: number,
    strategy = "auto",
  ) {
    // As `archc train` builds it (compiler/lab/train/session.ts): grouped layers get the
    // strategies that are fastest for a training step at this batch and fit in memory, or
    // the one strategy asked for (as `archc train --strategy NAME`).
    const count = (names: readonly string[]) => {
      const n = new Map<string, number>();
      for (const name of names) n.set(name, (n.get(name) ?? 0) + 1);
      return [...n].map(([name, k]) => `${name} x${k}`).join(", ");
    };
    this.model = buildModelFromIR(graph, {
      batch,
      mode: "train",
      ...(strategy !== "auto" && { groupedStrategy: strategy }),
      onStrategies: (c) => (this.chosen = count(c.strategies)),
    });
    if (strategy !== "auto" && !this.chosen) {
      const grouped = this.model.layers.filter((l) => l.getClassName() === "GroupedConv2D").length;
      this.chosen = grouped ? `${strategy} x${grouped}` : "";
    }
    this.vars = this.model.trainableWeights.map((w) => w.read() as tf.Variable);
    this.classes = graph.nodes[graph.output]!.shape[0]!;
    const n = batch * graph.input.reduce((a, b) => a * b, 1);
    this.xData = Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 1000);
    this.labels = Int32Array.from({ length: batch }, (_, i) => (i * 31) % this.classes);
    this.checkpoint = trainingNeedsCheckpoints(graph, batch, this.budget);
  }

  /** The loss and gradients, as compiler/lab/train/loop.ts computes them. */
  grads(x: tf.Tensor, y: tf.Tensor): { value: tf.Scalar; grads: tf.NamedTensorMap } {
    const loss = (out: tf.Tensor) => lossOf(y, out);
    return this.checkpoint
      ? checkpointedVariableGrads(this.model, x, loss, this.vars, { budget: this.budget })
      : frugalVariableGrads(
          () => loss(this.model.apply(x, { training: true }) as tf.Tensor),
          this.vars,
        );
  }

  /** A batch as the trainer's data pipeline hands it over: fresh tensors each step. */
  data(): { x: tf.Tensor; y: tf.Tensor } {
    const x = tf.tensor(this.xData, [this.batch, ...this.graph.input]);
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d(this.labels, "int32"), this.classes));
    return { x, y };
  }

  /** One training step as compiler/lab/train/loop.ts takes it; resolves when its loss is read. */
  async step(): Promise<void> {
    const { x, y } = this.data();
    const { value, grads } = this.grads(x, y);
    this.opt.applyGradients(grads);
    await value.data();
    tf.dispose([value, x, y, ...Object.values(grads)]);
  }

  /**
   * Wall-clock and CPU milliseconds of each step (process.cpuUsage: every thread of the process,
   * the kernel pool's included; waiting for a core on a loaded machine is not in it).
   */
  async timeSteps(steps: number): Promise<Timed[]> {
    const times: Timed[] = [];
    for (let i = 0; i < steps; i++) times.push(await timed(() => this.step()));
    return times;
  }

  /** Wall-clock per phase of one step, each phase finished (read back) before the next. */
  async phases(): Promise<Record<string, number>> {
    const t = (): number => performance.now();
    const t0 = t();
    const { x, y } = this.data();
    await x.data();
    const t1 = t();
    const fwd = tf.tidy(() => lossOf(y, this.model.apply(x, { training: true }) as tf.Tensor));
    await fwd.data();
    fwd.dispose();
    const t2 = t();
    const { value, grads } = this.grads(x, y);
    await Promise.all(Object.values(grads).map((g) => g.data()));
    const t3 = t();
    this.opt.applyGradients(grads);
    await this.vars[this.vars.length - 1]!.data();
    const t4 = t();
    tf.dispose([value, x, y, ...Object.values(grads)]);
    return {
      data: t1 - t0,
      forward: t2 - t1,
      "forward + backward": t3 - t2,
      "optimizer update": t4 - t3,
    };
  }

  /** Kernel time of one step by kernel name (tf.profile), and the step's wall-clock. */
  async kernels(): Promise<{ wall: number; byKernel: Map<string, { ms: number; n: number }> }> {
    const t0 = performance.now();
    const info = await tf.profile(() => this.step());
    const wall = performance.now() - t0;
    const byKernel = new Map<string, { ms: number; n: number }>();
    for (const k of info.kernels) {
      const ms = typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
      const e = byKernel.get(k.name) ?? { ms: 0, n: 0 };
      byKernel.set(k.name, { ms: e.ms + ms, n: e.n + 1 });
    }
    return { wall, byKernel };
  }

  /**
   * One step with every kernel call timed at the engine (runKernelFunc, synchronous on wasm):
   * the calls the step's own code makes (depth 1) and those kernels make inside other kernels,
   * and the step's wall-clock outside the outermost calls: the tape, the layers' and the
   * gradient functions' JavaScript, tidy and dispose. tf.profile cannot say that, since it
   * lists a composed kernel's inner kernels beside it.
   */
  async dispatch(): Promise<{ wall: number; outer: number; inner: number; insideMs: number }> {
    const engine = tf.engine() as unknown as { runKernelFunc: (...a: unknown[]) => unknown };
    const original = engine.runKernelFunc;
    let depth = 0;
    let outer = 0;
    let inner = 0;
    let insideMs = 0;
    engine.runKernelFunc = function (this: unknown, ...args: unknown[]) {
      const t0 = depth === 0 ? performance.now() : 0;
      depth++;
      try {
        return original.apply(this, args);
      } finally {
        depth--;
        if (depth === 0) {
          outer++;
          insideMs += performance.now() - t0;
        } else inner++;
      }
    };
    try {
      const t0 = performance.now();
      await this.step();
      return { wall: performance.now() - t0, outer, inner, insideMs };
    } finally {
      engine.runKernelFunc = original;
    }
  }

  dispose(): void {
    this.model.dispose();
    this.opt.dispose();
  }
}

/** The engine's cost of one kernel call with nothing to compute: Add of two 1-element tensors. */
function dispatchCostUs(calls = 3000): number {
  const a = tf.tensor1d([1]);
  const b = tf.tensor1d([2]);
  const once = () => tf.tidy(() => void tf.add(a, b));
  for (let i = 0; i < 200; i++) once();
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) once();
  const us = ((performance.now() - t0) * 1000) / calls;
  tf.dispose([a, b]);
  return us;
}

async function profile(c: Case, side: ArchcSide): Promise<void> {
  const phases = await side.phases();
  const { wall, byKernel } = await side.kernels();
  const total = [...byKernel.values()].reduce((a, e) => a + e.ms, 0);
  console.log(
    `\n### where archc's step goes: ${c.name}${side.checkpoint ? " (gradient checkpointing)" : ""}\n`,
  );
  console.log("| phase (each finished before the next) | ms |");
  console.log("| --- | ---: |");
  for (const [k, v] of Object.entries(phases)) console.log(`| ${k} | ${v.toFixed(1)} |`);
  console.log(`\n| kernel (tf.profile of one step: ${wall.toFixed(0)} ms wall) | calls | ms | % |`);
  console.log("| --- | ---: | ---: | ---: |");
  for (const [name, e] of [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 14))
    console.log(`| ${name} | ${e.n} | ${e.ms.toFixed(1)} | ${((100 * e.ms) / wall).toFixed(1)} |`);
  const calls = [...byKernel.values()].reduce((a, e) => a + e.n, 0);
  console.log(
    `\n(${calls} kernel calls in tf.profile's list, a composed kernel's inner ones included; their times add up to ${((100 * total) / wall).toFixed(0)}% of the step)`,
  );
  const d = await side.dispatch();
  const us = dispatchCostUs();
  console.log("\n| overhead per step (one more step, every kernel call timed) | |");
  console.log("| --- | ---: |");
  console.log(`| step wall-clock | ${d.wall.toFixed(1)} ms |`);
  console.log(`| kernel calls from the step's code (outermost) | ${d.outer} |`);
  console.log(`| kernel calls inside other kernels | ${d.inner} |`);
  console.log(`| time inside the outermost calls | ${d.insideMs.toFixed(1)} ms |`);
  console.log(
    `| time outside them (tape, layers' and gradients' JavaScript, tidy, dispose) | ${(d.wall - d.insideMs).toFixed(1)} ms (${((100 * (d.wall - d.insideMs)) / d.wall).toFixed(1)}%) |`,
  );
  console.log(
    `| engine cost of an empty kernel call (Add of 1-element tensors) | ${us.toFixed(1)} us: ${(((d.outer + d.inner) * us) / 1000).toFixed(1)} ms for this step's calls |`,
  );
}

/** Timed steps of each side, and the archc model they belong to. */
interface ArchcRun {
  readonly strategy: string;
  readonly side: ArchcSide;
  readonly times: Timed[];
}

/**
 * In a child: the one case ARCHC_BENCH_CASES names, at the thread count this process's wasm
 * backend runs on. Both sides take their warm-up steps first; then each round times `steps`
 * steps of PyTorch and of every archc model, the side that goes first changing each round, so
 * the machine's load falls on all of them alike.
 */
async function measureChild(argv: readonly string[]): Promise<void> {
  const [c] = pickCases(argv);
  if (!c) return;
  const load0 = loadAverage();
  const started = new Date().toISOString();
  // Grouped layers under each of these strategies ("auto": the cost model's choice), as rows
  // of their own; networks without grouped layers (regular, depthwise) are measured once.
  const strategies = (process.env["ARCHC_BENCH_STRATEGIES"] ?? "auto").split(",");
  const backend = await initBackend("wasm");
  const threads = backend.threads ?? 1;
  const graph = compileSpec(join(packageRoot, "specs", c.file), { args: c.args });
  const runs: ArchcRun[] = [];
  for (const strategy of strategies) {
    const side = new ArchcSide(graph, c.batch, strategy);
    if (runs.length > 0 && !side.chosen) {
      side.dispose(); // no grouped layer: every strategy builds the same model
      break;
    }
    runs.push({ strategy, side, times: [] });
  }
  let torchNote = torchMissing();
  const dir = mkdtempSync(join(scratchDir(), "archc-bench-train-"));
  let torch: TorchTrainer | undefined;
  const theirs: Timed[] = [];
  try {
    if (!torchNote) {
      const file = join(dir, `${c.key.replace(/\W/g, "_")}.py`);
      writeFileSync(file, emitTorch(graph));
      const [h, w, ch] = graph.input;
      try {
        torch = await TorchTrainer.start({
          file,
          className: torchClassName(graph.network),
          input: [h!, w!, ch!],
          classes: graph.nodes[graph.output]!.shape[0]!,
          batch: c.batch,
          threads,
        });
      } catch (e) {
        torchNote = (e as Error).message;
      }
    }
    console.log(
      `${c.name}: archc ${backend.label}; PyTorch ${torch ? `${torch.version}, ${threads} thread(s)` : torchNote}; ` +
        `${c.warmUp} warm-up, ${c.rounds} x ${c.steps} timed steps each`,
    );
    // A PyTorch failure (out of memory, a crash) leaves archc's figures standing.
    const torchSteps = async (n: number): Promise<Timed[]> => {
      if (!torch) return [];
      try {
        return await torch.steps(n);
      } catch (e) {
        torchNote = (e as Error).message;
        torch.close();
        torch = undefined;
        return [];
      }
    };
    await torchSteps(c.warmUp);
    for (const r of runs) for (let i = 0; i < c.warmUp; i++) await r.side.step();
    type Turn = () => Promise<void>;
    const turns: Turn[] = [
      async () => void theirs.push(...(await torchSteps(c.steps))),
      ...runs.map((r) => async () => void r.times.push(...(await r.side.timeSteps(c.steps)))),
    ];
    for (let round = 0; round < c.rounds; round++)
      for (let k = 0; k < turns.length; k++) await turns[(round + k) % turns.length]!();
  } finally {
    torch?.close();
    rmSync(dir, { recursive: true, force: true });
  }
  for (const r of runs) {
    if (argv.includes("--profile")) await profile(c, r.side);
    r.side.dispose();
    const row: ComparisonRow = {
      bench: "train",
      key: c.key,
      name: `${c.name}${r.side.checkpoint ? " (checkpointed)" : ""}`,
      variant: r.side.chosen ? `${r.strategy}: ${r.side.chosen}` : "-",
      strategy: r.side.chosen ? r.strategy : "-",
      threads,
      status: "ok",
      batch: c.batch,
      ours: summarize(r.times.map((t) => t.ms)),
      oursCpu: summarize(r.times.map((t) => t.cpuMs)),
      ...(theirs.length
        ? {
            theirs: summarize(theirs.map((t) => t.ms)),
            theirsCpu: summarize(theirs.map((t) => t.cpuMs)),
          }
        : { theirsNote: torchNote ?? "no PyTorch step finished" }),
      load: [load0, loadAverage()],
      warmUp: c.warmUp,
      steps: c.steps,
      rounds: c.rounds,
      started,
      finished: new Date().toISOString(),
    };
    reportRow(row);
  }
}

/**
 * Every case at every count of ARCHC_BENCH_THREADS, a child process each (caseChildren.ts),
 * then the table of all rows and each side's speed-up between the thread counts.
 */
export async function runTrainBench(): Promise<void> {
  const argv = process.argv.slice(2);
  if (isChild()) return measureChild(argv);
  console.log(
    "Each row: a child process; warm-up steps, then rounds that alternate PyTorch and archc " +
      "(first side changing each round); medians (min-max) over all timed steps.",
  );
  await runInChildren({
    bench: "train",
    labels: TRAIN_LABELS,
    cases: pickCases(argv),
    threads: threadCounts(),
    out: resultsPath("train"),
    resume: argv.includes("--resume"),
  });
}
