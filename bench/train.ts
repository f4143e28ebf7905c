/**
 * `npm run bench -- train`: archc's embedded trainer (tfjs wasm with archc's gradient kernels)
 * and PyTorch side by side, on the same networks built from the same IR (`--target torch`), the
 * same batch shape, optimiser (SGD, momentum 0.9) and loss. The two run interleaved, round by
 * round, so a machine shared with other work slows both alike: the ratio is the figure to read,
 * not the absolute times. Both sides use the same thread count: the wasm backend's (every core,
 * or ARCHC_THREADS), and torch.set_num_threads of it. PyTorch comes from Debian's python3-torch
 * (/usr/bin/python3); without it that column is skipped.
 *
 * Flags: `--profile` also prints where archc's step goes (phases and kernels); `--quick` runs the
 * mini_xception cases only; ARCHC_BENCH_CASES=mini,mini4,mini1,xception picks cases, and
 * `xception:SIZE:BATCH` (e.g. xception:75:8) adds a smaller Xception for profiling;
 * ARCHC_BENCH_ROUNDS=N changes the number of rounds.
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
import { frugalVariableGrads } from "../compiler/backends/tfjs/gradients.js";
import { buildModelFromIR } from "../compiler/backends/tfjs/model.js";
import { initBackend } from "../compiler/backends/tfjs/runtime.js";
import { emitTorch, torchClassName } from "../compiler/backends/torch/emit.js";
import { compileSpec } from "../compiler/index.js";
import type { IRGraph } from "../compiler/language/ir/types.js";
import { packageRoot } from "../compiler/language/paths.js";

interface Case {
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

const CASES: readonly Case[] = [
  {
    key: "mini",
    name: "mini_xception 28x28x1, depthwise, batch 32",
    file: "mini_xception.arch",
    args: {},
    batch: 32,
    steps: 4,
    rounds: 3,
  },
  {
    key: "mini4",
    name: "mini_xception 28x28x1, parts = 4, batch 32",
    file: "mini_xception.arch",
    args: { parts: 4 },
    batch: 32,
    steps: 4,
    rounds: 3,
  },
  {
    key: "mini1",
    name: "mini_xception 28x28x1, regular (parts = 1), batch 32",
    file: "mini_xception.arch",
    args: { parts: 1 },
    batch: 32,
    steps: 4,
    rounds: 3,
  },
  {
    key: "xception",
    name: "Xception 299x299x3, batch 8",
    file: "xception.arch",
    args: {},
    batch: 8,
    steps: 1,
    rounds: 1,
    cold: true,
  },
];

const PYTHON = "/usr/bin/python3";

function torchAvailable(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`;
  const r = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" });
  return r.status === 0 ? undefined : "python3-torch is not installed";
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Cross-entropy on a softmax output, as the trainer computes it (compiler/lab/train/loop.ts). */
function lossOf(y: tf.Tensor, out: tf.Tensor): tf.Scalar {
  const eps = 1e-7;
  return tf.neg(
    tf.mean(tf.sum(tf.mul(y, tf.log(tf.clipByValue(out, eps, 1 - eps))), -1)),
  ) as tf.Scalar;
}

class ArchcSide {
  private readonly model: tf.LayersModel;
  private readonly opt: tf.Optimizer = tf.train.momentum(0.01, 0.9);
  private readonly vars: tf.Variable[];
  private readonly classes: number;
  private readonly xData: Float32Array;
  private readonly labels: Int32Array;
  /** As `archc train` decides: recompute segments when a plain step would not fit. */
  readonly checkpoint: boolean;

  constructor(
    readonly graph: IRGraph,
    readonly batch: number,
  ) {
    // As `archc train` builds it (compiler/lab/train/session.ts): grouped layers get the
    // strategies that are fastest for a training step at this batch and fit in memory.
    this.model = buildModelFromIR(graph, { batch, mode: "train" });
    this.vars = this.model.trainableWeights.map((w) => w.read() as tf.Variable);
    this.classes = graph.nodes[graph.output]!.shape[0]!;
    const n = batch * graph.input.reduce((a, b) => a * b, 1);
    this.xData = Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 1000);
    this.labels = Int32Array.from({ length: batch }, (_, i) => (i * 31) % this.classes);
    this.checkpoint = trainingNeedsCheckpoints(graph, batch);
  }

  /** The loss and gradients, as compiler/lab/train/loop.ts computes them. */
  grads(x: tf.Tensor, y: tf.Tensor): { value: tf.Scalar; grads: tf.NamedTensorMap } {
    const loss = (out: tf.Tensor) => lossOf(y, out);
    return this.checkpoint
      ? checkpointedVariableGrads(this.model, x, loss, this.vars)
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

  async timeSteps(steps: number, warmUp: boolean): Promise<number[]> {
    if (warmUp) await this.step(); // kernel set-up, weight init
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      await this.step();
      times.push(performance.now() - t0);
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

  dispose(): void {
    this.model.dispose();
    this.opt.dispose();
  }
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
    `| (outside kernels: tape, dispatch, bookkeeping; ${calls} kernel calls) | | ${(wall - total).toFixed(1)} | ${((100 * (wall - total)) / wall).toFixed(1)} |`,
  );
}

export async function runTrainBench(): Promise<void> {
  const argv = process.argv.slice(2);
  const wantProfile = argv.includes("--profile");
  const picked = process.env["ARCHC_BENCH_CASES"]?.split(",");
  const cases = CASES.filter((c) =>
    picked ? picked.includes(c.key) : !argv.includes("--quick") || c.key !== "xception",
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
  const backend = await initBackend("wasm");
  const threads = backend.threads ?? 1;
  const noTorch = torchAvailable();
  console.log(`archc: ${backend.label}; PyTorch: ${noTorch ?? `${threads} thread(s)`}`);
  console.log("Rounds alternate PyTorch and archc; medians over all timed steps.\n");
  const dir = mkdtempSync(join(tmpdir(), "archc-bench-train-"));
  const rows: string[] = [];
  const header = [
    "| network | threads | archc ms/step | archc images/s | PyTorch ms/step | PyTorch images/s | archc / PyTorch time |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  try {
    for (const c of cases) {
      const graph = compileSpec(join(packageRoot, "specs", c.file), { args: c.args });
      const side = new ArchcSide(graph, c.batch);
      const ours: number[] = [];
      const theirs: number[] = [];
      let torchNote = noTorch;
      const rounds = Number(process.env["ARCHC_BENCH_ROUNDS"]) || c.rounds;
      for (let r = 0; r < rounds; r++) {
        if (!torchNote) {
          const t = torchSteps(dir, c, graph, threads, c.steps, c.cold ? 0 : 1);
          if (typeof t === "string") torchNote = t;
          else theirs.push(...t);
        }
        ours.push(...(await side.timeSteps(c.steps, !c.cold)));
      }
      if (wantProfile) await profile(c, side);
      side.dispose();
      const label = `${c.name}${side.checkpoint ? " (checkpointed)" : ""}`;
      const a = median(ours);
      const ips = (ms: number) => ((c.batch * 1000) / ms).toFixed(1);
      if (theirs.length) {
        const p = median(theirs);
        rows.push(
          `| ${label} | ${threads} | ${a.toFixed(0)} | ${ips(a)} | ${p.toFixed(0)} | ${ips(p)} | ${(a / p).toFixed(2)} |`,
        );
      } else {
        rows.push(`| ${label} | ${threads} | ${a.toFixed(0)} | ${ips(a)} | (${torchNote}) | | |`);
      }
      // Each row as soon as it is measured (Xception takes minutes); the table again at the end.
      console.log(rows.length === 1 ? [...header, rows[0]].join("\n") : rows[rows.length - 1]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (wantProfile) console.log(["", ...header, ...rows].join("\n"));
}
