/**
 * `npm run bench -- infer`: inference as `archc run` does it (the inference program of the tfjs
 * runtime model on the wasm backend: batch norms folded, fused kernels, grouped layers given the
 * cost model's forward strategies for the batch) against
 * onnxruntime-node on the ONNX that `archc compile --target onnx` emits for the same network (NHWC
 * input, seeded random weights), at the same thread count: the wasm backend's (ARCHC_THREADS)
 * and onnxruntime's intra-op threads. Each case at each thread count runs in a child process of
 * its own (caseChildren.ts), as `bench -- train` does: after a warm-up pass each, the two
 * alternate pass by pass, the one that goes first swapping each time, so load on a shared
 * machine falls on both alike: the ratio is the figure to read. Each row (median and min-max of
 * wall-clock, CPU time of every thread of the process, load average at its start and end) is
 * printed and appended to the results file as it finishes; a child that dies leaves a failed row.
 *
 * Cases: mini_xception 28x28x1 at batch 32, parts = 1, 4, 8 and depthwise (keys mini1, mini4,
 * mini8, mini; mini2 and mini16 when asked for); Xception 299x299 at batch 1, parts = 1, 8 and
 * depthwise (xception1, xception8, xception). `xception:BATCH` (e.g. xception:8) adds Xception
 * depthwise at another batch. Variables as `bench -- train`'s: ARCHC_BENCH_CASES,
 * ARCHC_BENCH_THREADS (default 1,2), ARCHC_BENCH_WARMUP (passes, default 1), ARCHC_BENCH_STEPS
 * (passes per side in a round), ARCHC_BENCH_ROUNDS, ARCHC_BENCH_TIMEOUT_S, ARCHC_BENCH_OUT
 * (default runs/bench/infer-TIME.jsonl), `--resume`; `--quick` runs mini_xception only. `--layers`
 * times the tf.layers model the program was compiled from (`model.predict`) as rows of its own.
 * ARCHC_BENCH_STRATEGIES=auto,dense,native gives every grouped layer each of these strategies
 * ("auto": the cost model's choice) as sides of their own, alternating with the rest; a case
 * without grouped layers runs once.
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { exportOnnx } from "../compiler/backends/onnx/export.js";
import { openOnnx, type OnnxSession } from "../compiler/backends/onnx/runtime.js";
import { buildInferenceFromIR } from "../compiler/backends/tfjs/inference/index.js";
import { initBackend } from "../compiler/backends/tfjs/runtime.js";
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
  threadCounts,
} from "./caseChildren.js";
import { INFER_LABELS, type ComparisonRow } from "./comparison.js";
import { loadAverage, summarize, timed, type Timed } from "./timing.js";

interface Case {
  readonly key: string;
  readonly name: string;
  readonly file: string;
  readonly args: Record<string, string | number>;
  readonly batch: number;
  /** Untimed passes per side first; then timed passes per side in each round, and rounds. */
  readonly warmUp: number;
  readonly passes: number;
  readonly rounds: number;
  /** Seconds before the case's child is killed and its row recorded as failed. */
  readonly timeoutS: number;
}

const miniCase = (parts: number | "depthwise"): Case => ({
  key: parts === "depthwise" ? "mini" : `mini${parts}`,
  name: `mini_xception 28x28x1, ${partsName(parts)}, batch 32`,
  file: "mini_xception.arch",
  args: parts === "depthwise" ? {} : { parts },
  batch: 32,
  warmUp: 1,
  passes: 5,
  rounds: 3,
  timeoutS: 600,
});

const xceptionCase = (parts: number | "depthwise", batch = 1): Case => ({
  key: `xception${parts === "depthwise" ? "" : parts}${batch === 1 ? "" : `:${batch}`}`,
  name: `Xception 299x299x3, ${partsName(parts)}, batch ${batch}`,
  file: "xception.arch",
  args: parts === "depthwise" ? {} : { parts },
  batch,
  warmUp: 1,
  passes: batch === 1 ? 3 : 1,
  rounds: 3,
  timeoutS: 1800,
});

/** The default cases: the issue's points of the continuum. */
const CASES: readonly Case[] = [
  ...([1, 4, 8, "depthwise"] as const).map((p) => miniCase(p)),
  ...([1, 8, "depthwise"] as const).map((p) => xceptionCase(p)),
];

/** Asked for by name only. */
const MORE: readonly Case[] = [miniCase(2), miniCase(16)];

/** ARCHC_BENCH_WARMUP, _STEPS, _ROUNDS and _TIMEOUT_S override every case's own. */
function configured(c: Case): Case {
  const o = countOverrides();
  return {
    ...c,
    warmUp: o.warmUp ?? c.warmUp,
    passes: o.steps ?? c.passes,
    rounds: o.rounds ?? c.rounds,
    timeoutS: o.timeoutS ?? c.timeoutS,
  };
}

function pickCases(argv: readonly string[]): Case[] {
  const picked = process.env["ARCHC_BENCH_CASES"]?.split(",");
  if (!picked)
    return CASES.filter((c) => !argv.includes("--quick") || c.file !== "xception.arch").map(
      configured,
    );
  return picked.map((key) => {
    const known = [...CASES, ...MORE].find((c) => c.key === key);
    if (known) return configured(known);
    const m = /^xception:(\d+)$/.exec(key);
    if (m && Number(m[1]) >= 1) return configured(xceptionCase("depthwise", Number(m[1])));
    console.error(
      `ARCHC_BENCH_CASES: unknown case '${key}'; known: ${[...CASES, ...MORE].map((c) => c.key).join(", ")}, xception:BATCH`,
    );
    process.exit(2);
  });
}

/** One side of the comparison: a warm model that times one forward pass of a fixed batch. */
interface Side {
  /** Wall-clock and CPU milliseconds of one pass. */
  pass(): Promise<Timed>;
  dispose(): Promise<void>;
}

/**
 * archc's side as `archc run` builds it (compiler/cli/commands/run.ts): the inference program,
 * and the tf.layers model it was compiled from (`model.predict`, the path before issue 26.4).
 */
function tfjsSides(
  graph: IRGraph,
  batch: number,
  strategy = "auto",
): { program: Side; layers: Side; chosen: string } {
  let chosen = "";
  const { model, program } = buildInferenceFromIR(graph, {
    batch,
    mode: "forward",
    ...(strategy !== "auto" && { groupedStrategy: strategy }),
    onStrategies: (c) => {
      const n = new Map<string, number>();
      for (const s of c.strategies) n.set(s, (n.get(s) ?? 0) + 1);
      chosen = [...n].map(([s, k]) => `${s} x${k}`).join(", ");
    },
  });
  if (strategy !== "auto" && !chosen) {
    const grouped = model.layers.filter((l) => l.getClassName() === "GroupedConv2D").length;
    chosen = grouped ? `${strategy} x${grouped}` : "";
  }
  const x = tf.randomUniform([batch, ...graph.input], -1, 1);
  const passOf = (forward: () => tf.Tensor) => () =>
    timed(async () => {
      const y = forward();
      await y.data();
      y.dispose();
    });
  let live = 2;
  const release = async () => {
    if (--live > 0) return;
    x.dispose();
    program.dispose();
    model.dispose();
  };
  return {
    chosen,
    program: { pass: passOf(() => program.predict(x)), dispose: release },
    layers: { pass: passOf(() => model.predict(x) as tf.Tensor), dispose: release },
  };
}

async function onnxSide(graph: IRGraph, batch: number, threads: number): Promise<Side> {
  // The bytes `archc compile --target onnx` writes without --weights (seed 1).
  const session: OnnxSession = await openOnnx(exportOnnx(graph, undefined, { seed: 1 }), {
    provider: "cpu",
    threads,
  });
  const shape = [batch, ...graph.input];
  const input = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < input.length; i++) input[i] = Math.random() * 2 - 1;
  return {
    pass: () =>
      timed(async () => {
        await session.run(input, shape);
      }),
    dispose: () => session.release(),
  };
}

/** In a child: the one case ARCHC_BENCH_CASES names, at this process's thread count. */
async function measureChild(argv: readonly string[]): Promise<void> {
  const [c] = pickCases(argv);
  if (!c) return;
  const load0 = loadAverage();
  const started = new Date().toISOString();
  const backend = await initBackend("wasm");
  const threads = backend.threads ?? 1;
  const ort = await import("onnxruntime-node");
  console.log(
    `${c.name}: archc run ${backend.label}; onnxruntime-node ${ort.env.versions.node ?? "?"} (cpu, ${threads} intra-op thread(s)); ` +
      `${c.warmUp} warm-up, ${c.rounds} x ${c.passes} timed passes each`,
  );
  const withLayers = argv.includes("--layers");
  const strategies = (process.env["ARCHC_BENCH_STRATEGIES"] ?? "auto").split(",");
  const graph = compileSpec(join(packageRoot, "specs", c.file), { args: c.args });
  // One archc side per strategy; a network without grouped layers builds the same for all.
  const ours: (ReturnType<typeof tfjsSides> & { strategy: string })[] = [];
  for (const strategy of strategies) {
    const side = tfjsSides(graph, c.batch, strategy);
    ours.push({ ...side, strategy });
    if (!side.chosen) break;
  }
  const theirs = await onnxSide(graph, c.batch, threads);
  const sides: Side[] = [
    ...ours.map((o) => o.program),
    theirs,
    ...(withLayers ? ours.map((o) => o.layers) : []),
  ];
  const times: Timed[][] = sides.map(() => []);
  try {
    // Kernel set-up, strategy calibration, onnxruntime's memory planning.
    for (let i = 0; i < c.warmUp; i++) for (const side of sides) await side.pass();
    for (let r = 0; r < c.rounds; r++)
      for (let p = 0; p < c.passes; p++) {
        // Each side goes first in turn.
        const first = (r * c.passes + p) % sides.length;
        for (let k = 0; k < sides.length; k++) {
          const which = (first + k) % sides.length;
          times[which]!.push(await sides[which]!.pass());
        }
      }
  } finally {
    for (const o of ours) {
      await o.program.dispose();
      await o.layers.dispose();
    }
    await theirs.dispose();
  }
  const load1 = loadAverage();
  const finished = new Date().toISOString();
  const onnx = times[ours.length]!;
  const mmacs = (graph.totals.macs / 1e6).toFixed(1);
  const row = (i: number, variant: string, strategy: string): ComparisonRow => ({
    bench: "infer",
    key: c.key,
    name: `${c.name} (${mmacs} MMACs/image)`,
    variant,
    strategy,
    threads,
    status: "ok",
    batch: c.batch,
    ours: summarize(times[i]!.map((t) => t.ms)),
    oursCpu: summarize(times[i]!.map((t) => t.cpuMs)),
    theirs: summarize(onnx.map((t) => t.ms)),
    theirsCpu: summarize(onnx.map((t) => t.cpuMs)),
    load: [load0, load1],
    warmUp: c.warmUp,
    steps: c.passes,
    rounds: c.rounds,
    started,
    finished,
  });
  ours.forEach((o, i) => {
    const variant = o.chosen ? `${o.strategy}: ${o.chosen}` : "-";
    const strategy = o.chosen ? o.strategy : "-";
    reportRow(row(i, variant, strategy));
    const layers = " (tf.layers model)";
    if (withLayers) reportRow(row(ours.length + 1 + i, variant + layers, strategy + layers));
  });
}

export async function runInferBench(): Promise<void> {
  const argv = process.argv.slice(2);
  if (isChild()) return measureChild(argv);
  console.log(
    "Each row: a child process; a warm-up pass each, then archc run and onnxruntime alternate " +
      "pass by pass (the first swapping each time); medians (min-max) over all timed passes.",
  );
  await runInChildren({
    bench: "infer",
    labels: INFER_LABELS,
    cases: pickCases(argv),
    threads: threadCounts(),
    out: resultsPath("infer"),
    resume: argv.includes("--resume"),
  });
}
