/**
 * `npm run bench -- train`: archc's embedded trainer (tfjs wasm with archc's gradient kernels)
 * and PyTorch side by side, on the same networks built from the same IR (`--target torch`), the
 * same batch shape, optimiser (SGD, momentum 0.9) and loss. The two run interleaved, round by
 * round, so a machine shared with other work slows both alike: the ratio is the figure to read,
 * not the absolute times. Both sides use the same thread count: the wasm backend's (every core,
 * or ARCHC_THREADS), and torch.set_num_threads of it. PyTorch comes from Debian's python3-torch
 * (/usr/bin/python3); without it that column is skipped.
 *
 * Cases: mini_xception at parts = 1, 2, 4, 8, 16 and depthwise (keys mini1 ... mini16, mini),
 * Xception 299x299 batch 8 at parts = 1, 8 and depthwise (xception1, xception8, xception).
 * Flags: `--profile` also prints where archc's step goes (phases, kernels, and the kernel calls and
 * time outside them per step); `--quick` runs the
 * mini_xception cases only; ARCHC_BENCH_CASES=mini,mini4,... picks cases, and
 * `xception:SIZE:BATCH` (e.g. xception:75:8) adds a smaller Xception for profiling;
 * ARCHC_BENCH_ROUNDS=N changes the number of rounds; ARCHC_BENCH_STRATEGIES=split,native,auto
 * measures the grouped layers under each (a row each, interleaved; default auto, the cost
 * model's choice); ARCHC_BENCH_THREADS=1,2 runs each thread count in a child process (the wasm
 * backend's count is fixed once it starts) and adds each side's speed-up between them.
 */
import * as tf from "@tensorflow/tfjs";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
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
import { median } from "./timing.js";

export interface Case {
  readonly key: string;
  readonly name: string;
  readonly file: string;
  readonly args: Record<string, string | number>;
  readonly batch: number;
  /** Timed steps per round (after one warm-up step per round unless `cold`), and rounds. */
  readonly steps: number;
  readonly rounds: number;
  /** No warm-up steps: each step takes minutes, and the first is not set-up dominated. */
  readonly cold?: boolean;
}

export const miniCase = (parts: number | "depthwise"): Case => ({
  key: parts === "depthwise" ? "mini" : `mini${parts}`,
  name: `mini_xception 28x28x1, ${parts === "depthwise" ? "depthwise" : parts === 1 ? "regular (parts = 1)" : `parts = ${parts}`}, batch 32`,
  file: "mini_xception.arch",
  args: parts === "depthwise" ? {} : { parts },
  batch: 32,
  steps: 4,
  rounds: 3,
});

const xceptionCase = (parts: number | "depthwise"): Case => ({
  key: parts === "depthwise" ? "xception" : `xception${parts}`,
  name: `Xception 299x299x3, ${parts === "depthwise" ? "depthwise" : `parts = ${parts}`}, batch 8`,
  file: "xception.arch",
  args: parts === "depthwise" ? {} : { parts },
  batch: 8,
  steps: 1,
  rounds: 1,
  cold: true,
});

/** The continuum: mini_xception from regular to depthwise, and Xception at three points. */
const CASES: readonly Case[] = [
  ...([1, 2, 4, 8, 16, "depthwise"] as const).map(miniCase),
  ...([1, 8, "depthwise"] as const).map(xceptionCase),
];

const PYTHON = "/usr/bin/python3";

function torchAvailable(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`;
  const r = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" });
  return r.status === 0 ? undefined : "python3-torch is not installed";
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
  async timeSteps(steps: number, warmUp: boolean): Promise<{ ms: number; cpuMs: number }[]> {
    if (warmUp) await this.step(); // kernel set-up, weight init
    const times: { ms: number; cpuMs: number }[] = [];
    for (let i = 0; i < steps; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await this.step();
      const c = process.cpuUsage(c0);
      times.push({ ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 });
    }
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

function torchSteps(
  dir: string,
  c: Case,
  graph: IRGraph,
  threads: number,
  steps: number,
  warmUp: number,
): number[] | string {
  const file = join(dir, `${c.key}.py`);
  if (!existsSync(file)) writeFileSync(file, emitTorch(graph));
  const [h, w, ch] = graph.input;
  const classes = graph.nodes[graph.output]!.shape[0]!;
  const r = spawnSync(
    PYTHON,
    [
      join(packageRoot, "bench", "train_torch.py"),
      file,
      torchClassName(graph.network),
      ...[h, w, ch, classes, c.batch, threads, steps, warmUp].map(String),
    ],
    { encoding: "utf8", maxBuffer: 1 << 24 },
  );
  if (r.status !== 0) return (r.stderr || String(r.error)).trim().split("\n").pop()!;
  return (JSON.parse(r.stdout) as { ms: number[] }).ms;
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

/** One measured row, as a child process (one thread count) reports it to the parent. */
interface Row {
  key: string;
  name: string;
  strategy: string;
  chosen: string;
  threads: number;
  archcMs: number;
  archcCpuMs: number;
  batch: number;
  torchMs?: number;
  torchNote?: string;
}

const ROW_MARK = "BENCH_ROW ";

/** Each measured case, at the thread count this process's wasm backend runs on. */
async function measure(argv: readonly string[], onRow: (r: Row) => void): Promise<void> {
  const wantProfile = argv.includes("--profile");
  const picked = process.env["ARCHC_BENCH_CASES"]?.split(",");
  const cases = CASES.filter((c) =>
    picked ? picked.includes(c.key) : !argv.includes("--quick") || c.file !== "xception.arch",
  );
  for (const key of picked ?? []) {
    const m = /^xception:(\d+):(\d+)$/.exec(key);
    if (!m) continue;
    const [size, batch] = [Number(m[1]), Number(m[2])];
    cases.push({
      key,
      name: `Xception ${size}x${size}x3, batch ${batch}`,
      file: "xception.arch",
      args: { size },
      batch,
      steps: 1,
      rounds: 1,
      cold: true,
    });
  }
  // Grouped layers under each of these strategies ("auto": the cost model's choice), as rows
  // of their own; networks without grouped layers (regular, depthwise) are measured once.
  const strategies = (process.env["ARCHC_BENCH_STRATEGIES"] ?? "auto").split(",");
  const backend = await initBackend("wasm");
  const threads = backend.threads ?? 1;
  const noTorch = torchAvailable();
  console.log(`archc: ${backend.label}; PyTorch: ${noTorch ?? `${threads} thread(s)`}`);
  const dir = mkdtempSync(join(tmpdir(), "archc-bench-train-"));
  try {
    for (const c of cases) {
      const graph = compileSpec(join(packageRoot, "specs", c.file), { args: c.args });
      const sides: {
        strategy: string;
        side: ArchcSide;
        times: { ms: number; cpuMs: number }[];
      }[] = [];
      for (const strategy of strategies) {
        const side = new ArchcSide(graph, c.batch, strategy);
        if (sides.length > 0 && !side.chosen) {
          side.dispose(); // no grouped layer: every strategy builds the same model
          break;
        }
        sides.push({ strategy, side, times: [] });
      }
      const theirs: number[] = [];
      let torchNote = noTorch;
      const rounds = Number(process.env["ARCHC_BENCH_ROUNDS"]) || c.rounds;
      // Round by round: PyTorch, then each archc model, so load on the machine hits all alike.
      for (let r = 0; r < rounds; r++) {
        if (!torchNote) {
          const t = torchSteps(dir, c, graph, threads, c.steps, c.cold ? 0 : 1);
          if (typeof t === "string") torchNote = t;
          else theirs.push(...t);
        }
        for (const s of sides) s.times.push(...(await s.side.timeSteps(c.steps, !c.cold)));
      }
      for (const s of sides) {
        if (wantProfile) await profile(c, s.side);
        s.side.dispose();
        onRow({
          key: c.key,
          name: `${c.name}${s.side.checkpoint ? " (checkpointed)" : ""}`,
          strategy: s.side.chosen ? s.strategy : "-",
          chosen: s.side.chosen,
          threads,
          archcMs: median(s.times.map((t) => t.ms)),
          archcCpuMs: median(s.times.map((t) => t.cpuMs)),
          batch: c.batch,
          ...(theirs.length ? { torchMs: median(theirs) } : { torchNote: torchNote ?? "" }),
        });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const HEADER = [
  "| network | grouped layers | threads | archc ms/step | archc CPU ms/step | archc images/s | PyTorch ms/step | PyTorch images/s | archc / PyTorch time |",
  "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
];

function formatRow(r: Row): string {
  const ips = (ms: number) => ((r.batch * 1000) / ms).toFixed(1);
  const grouped = r.chosen ? `${r.strategy}: ${r.chosen}` : "-";
  const torch =
    r.torchMs !== undefined
      ? `${r.torchMs.toFixed(0)} | ${ips(r.torchMs)} | ${(r.archcMs / r.torchMs).toFixed(2)}`
      : `(${r.torchNote}) | |`;
  return `| ${r.name} | ${grouped} | ${r.threads} | ${r.archcMs.toFixed(0)} | ${r.archcCpuMs.toFixed(0)} | ${ips(r.archcMs)} | ${torch} |`;
}

/** Each side's speed-up from the fewest to the most threads measured, per network and strategy. */
function speedUps(rows: readonly Row[]): string[] {
  const counts = [...new Set(rows.map((r) => r.threads))].sort((a, b) => a - b);
  if (counts.length < 2) return [];
  const [lo, hi] = [counts[0]!, counts[counts.length - 1]!];
  const out = [
    "",
    `| network | grouped layers | archc ${lo} -> ${hi} threads | PyTorch ${lo} -> ${hi} threads |`,
    "| --- | --- | ---: | ---: |",
  ];
  for (const a of rows.filter((r) => r.threads === lo)) {
    const b = rows.find((r) => r.threads === hi && r.key === a.key && r.strategy === a.strategy);
    if (!b) continue;
    const torch =
      a.torchMs !== undefined && b.torchMs !== undefined
        ? `${(a.torchMs / b.torchMs).toFixed(2)}x`
        : "";
    out.push(
      `| ${a.name} | ${a.chosen ? a.strategy : "-"} | ${(a.archcMs / b.archcMs).toFixed(2)}x | ${torch} |`,
    );
  }
  return out;
}

/**
 * The wasm backend's thread count is fixed once it starts, so each count of
 * ARCHC_BENCH_THREADS (e.g. "1,2"; default: the backend's own, every core) runs in a child
 * process of its own, one after the other, and the parent prints one table of all of them.
 */
export async function runTrainBench(): Promise<void> {
  const argv = process.argv.slice(2);
  const counts = process.env["ARCHC_BENCH_THREADS"]?.split(",").map(Number);
  console.log("Rounds alternate PyTorch and archc; medians over all timed steps.\n");
  const rows: Row[] = [];
  if (!counts || process.env["ARCHC_BENCH_CHILD"]) {
    await measure(argv, (r) => {
      rows.push(r);
      if (process.env["ARCHC_BENCH_CHILD"]) console.log(ROW_MARK + JSON.stringify(r));
      // Each row as soon as it is measured (Xception takes minutes); the table again at the end.
      else console.log(rows.length === 1 ? [...HEADER, formatRow(r)].join("\n") : formatRow(r));
    });
    if (!process.env["ARCHC_BENCH_CHILD"] && argv.includes("--profile"))
      console.log(["", ...HEADER, ...rows.map(formatRow)].join("\n"));
    return;
  }
  for (const threads of counts) {
    if (!Number.isInteger(threads) || threads < 1) {
      console.error(
        `ARCHC_BENCH_THREADS: '${String(threads)}' is not a thread count (want e.g. 1,2)`,
      );
      process.exit(2);
    }
    const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      env: { ...process.env, ARCHC_THREADS: String(threads), ARCHC_BENCH_CHILD: "1" },
      encoding: "utf8",
      maxBuffer: 1 << 26,
      stdio: ["ignore", "pipe", "inherit"],
    });
    for (const line of child.stdout.split("\n")) {
      if (line.startsWith(ROW_MARK)) {
        const r = JSON.parse(line.slice(ROW_MARK.length)) as Row;
        rows.push(r);
        console.log(`${threads} thread(s): ${formatRow(r)}`);
      } else if (line.trim() && !line.startsWith("## ") && !line.startsWith("Rounds "))
        console.log(line);
    }
    if (child.status !== 0) console.log(`(the ${threads}-thread run exited with ${child.status})`);
  }
  console.log(["", ...HEADER, ...rows.map(formatRow), ...speedUps(rows)].join("\n"));
}
