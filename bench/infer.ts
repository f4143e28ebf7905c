/**
 * `npm run bench -- infer`: inference as `archc run` does it (the inference program of the tfjs
 * runtime model on the wasm backend: batch norms folded, fused kernels, grouped layers given the
 * cost model's forward strategies for the batch) against
 * onnxruntime-node on the ONNX that `archc compile --target onnx` emits for the same network (NHWC
 * input, seeded random weights), at the same thread count: the wasm backend's (every core, or
 * ARCHC_THREADS) and onnxruntime's intra-op threads. The two alternate pass by pass, the one that
 * goes first swapping each time, so load on a shared machine falls on both alike: the ratio is
 * the figure to read.
 *
 * Cases: mini_xception 28x28x1 at batch 32, parts = 1, 2, 4, 8, 16 and depthwise (keys mini1 ...
 * mini16, mini); Xception 299x299 at batch 1, parts = 1, 8 and depthwise (xception1, xception8,
 * xception). `xception:BATCH` (e.g. xception:8) adds Xception depthwise at another batch.
 * ARCHC_BENCH_CASES=mini,xception8,... picks cases; `--quick` runs mini_xception only;
 * ARCHC_BENCH_ROUNDS=N sets the rounds (passes per side per round: the case's own). `--layers`
 * times the tf.layers model the program was compiled from (`model.predict`) as a third side.
 * ARCHC_BENCH_STRATEGIES=auto,dense,native gives every grouped layer each of these strategies
 * ("auto": the cost model's choice) as sides of their own, alternating with the rest; a case
 * without grouped layers runs once. Beside wall-clock time each archc side reports its CPU time
 * per pass (process.cpuUsage: every thread of the process, the kernel pool's included), which a
 * shared machine's load disturbs less.
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { exportOnnx } from "../compiler/backends/onnx/export.js";
import { median, openOnnx, type OnnxSession } from "../compiler/backends/onnx/runtime.js";
import { buildInferenceFromIR } from "../compiler/backends/tfjs/inference/index.js";
import { initBackend } from "../compiler/backends/tfjs/runtime.js";
import { compileSpec } from "../compiler/index.js";
import type { IRGraph } from "../compiler/language/ir/types.js";
import { packageRoot } from "../compiler/language/paths.js";

interface Case {
  readonly key: string;
  readonly name: string;
  readonly file: string;
  readonly args: Record<string, string | number>;
  readonly batch: number;
  /** Timed passes per side in each round, and rounds; one untimed warm-up pass per side. */
  readonly passes: number;
  readonly rounds: number;
}

const partsName = (parts: number | "depthwise") =>
  parts === "depthwise" ? "depthwise" : parts === 1 ? "regular (parts = 1)" : `parts = ${parts}`;

const miniCase = (parts: number | "depthwise"): Case => ({
  key: parts === "depthwise" ? "mini" : `mini${parts}`,
  name: `mini_xception 28x28x1, ${partsName(parts)}`,
  file: "mini_xception.arch",
  args: parts === "depthwise" ? {} : { parts },
  batch: 32,
  passes: 5,
  rounds: 3,
});

const xceptionCase = (parts: number | "depthwise", batch = 1): Case => ({
  key: `xception${parts === "depthwise" ? "" : parts}${batch === 1 ? "" : `:${batch}`}`,
  name: `Xception 299x299x3, ${partsName(parts)}`,
  file: "xception.arch",
  args: parts === "depthwise" ? {} : { parts },
  batch,
  passes: batch === 1 ? 3 : 1,
  rounds: 3,
});

const CASES: readonly Case[] = [
  ...([1, 2, 4, 8, 16, "depthwise"] as const).map((p) => miniCase(p)),
  ...([1, 8, "depthwise"] as const).map((p) => xceptionCase(p)),
];

function pickCases(argv: readonly string[]): Case[] {
  const picked = process.env["ARCHC_BENCH_CASES"]?.split(",");
  if (!picked) return CASES.filter((c) => !argv.includes("--quick") || c.file !== "xception.arch");
  return picked.map((key) => {
    const known = CASES.find((c) => c.key === key);
    if (known) return known;
    const m = /^xception:(\d+)$/.exec(key);
    if (m && Number(m[1]) >= 1) return xceptionCase("depthwise", Number(m[1]));
    console.error(
      `ARCHC_BENCH_CASES: unknown case '${key}'; known: ${CASES.map((c) => c.key).join(", ")}, xception:BATCH`,
    );
    process.exit(2);
  });
}

/** One side of the comparison: a warm model that times one forward pass of a fixed batch. */
interface Side {
  /** Wall-clock and CPU milliseconds of one pass. */
  pass(): Promise<{ ms: number; cpuMs: number }>;
  dispose(): Promise<void>;
}

async function timedPass(forward: () => Promise<void>): Promise<{ ms: number; cpuMs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await forward();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { ms, cpuMs: (c.user + c.system) / 1000 };
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
  const timed = (forward: () => tf.Tensor) => () =>
    timedPass(async () => {
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
    program: { pass: timed(() => program.predict(x)), dispose: release },
    layers: { pass: timed(() => model.predict(x) as tf.Tensor), dispose: release },
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
      timedPass(async () => {
        await session.run(input, shape);
      }),
    dispose: () => session.release(),
  };
}

export async function runInferBench(): Promise<void> {
  const argv = process.argv.slice(2);
  const cases = pickCases(argv);
  const backend = await initBackend("wasm");
  const threads = backend.threads ?? 1;
  const ort = await import("onnxruntime-node");
  console.log(
    `archc run: ${backend.label}; onnxruntime-node ${ort.env.versions.node ?? "?"} (cpu, ${threads} intra-op thread(s))`,
  );
  console.log(
    "The two alternate pass by pass (the first swapping each time); medians over all timed passes.\n",
  );
  const withLayers = argv.includes("--layers");
  const strategies = (process.env["ARCHC_BENCH_STRATEGIES"] ?? "auto").split(",");
  const head = withLayers ? " tf.layers model ms | layers / program |" : "";
  console.log(
    `| network | batch | MMACs/image | grouped layers (archc run) | archc run ms | archc run CPU ms |${head} onnxruntime ms | archc / onnxruntime time |`,
  );
  console.log(
    `| --- | ---: | ---: | --- | ---: | ---: |${withLayers ? " ---: | ---: |" : ""} ---: | ---: |`,
  );
  for (const c of cases) {
    const graph = compileSpec(join(packageRoot, "specs", c.file), { args: c.args });
    // One archc side per strategy; a network without grouped layers builds the same for all.
    const ours: ReturnType<typeof tfjsSides>[] = [];
    for (const strategy of strategies) {
      const side = tfjsSides(graph, c.batch, strategy);
      ours.push(side);
      if (!side.chosen) break;
    }
    const theirs = await onnxSide(graph, c.batch, threads);
    const sides: Side[] = [
      ...ours.map((o) => o.program),
      theirs,
      ...(withLayers ? ours.map((o) => o.layers) : []),
    ];
    const times: { ms: number; cpuMs: number }[][] = sides.map(() => []);
    try {
      // Kernel set-up, strategy calibration, onnxruntime's memory planning.
      for (const side of sides) await side.pass();
      const rounds = Number(process.env["ARCHC_BENCH_ROUNDS"]) || c.rounds;
      for (let r = 0; r < rounds; r++)
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
    const ms = times.map((t) => median(t.map((p) => p.ms)));
    const cpu = times.map((t) => median(t.map((p) => p.cpuMs)));
    const o = ms[ours.length]!;
    ours.forEach((side, i) => {
      const a = ms[i]!;
      const l = ms[ours.length + 1 + i];
      const layersCells = withLayers ? ` ${l!.toFixed(1)} | ${(l! / a).toFixed(2)} |` : "";
      console.log(
        `| ${c.name} | ${c.batch} | ${(graph.totals.macs / 1e6).toFixed(1)} | ${side.chosen || "-"} | ${a.toFixed(1)} | ${cpu[i]!.toFixed(1)} |${layersCells} ${o.toFixed(1)} | ${(a / o).toFixed(2)} |`,
      );
    });
  }
}
