import { startBackend } from "../backend.js";
import { integerFlag } from "../../util/integerFlag.js";
import { buildFromCli, type BuildOptions } from "../build.js";
import { Exit, type IO } from "../io.js";
import type { BackendChoice } from "../../backends/tfjs/runtime.js";
import type { Tensor } from "@tensorflow/tfjs";

export interface RunOptions extends BuildOptions {
  readonly batch: string;
  readonly runs: string;
  readonly warmup: string;
  readonly backend: BackendChoice;
  readonly strategy?: string;
  readonly runtime: "tfjs" | "onnx";
  readonly weights?: string;
  readonly threads?: string;
  readonly inference?: "program" | "layers";
}

function positiveInt(io: IO, name: string, text: string): number | undefined {
  const n = integerFlag(name, text, 1);
  if (typeof n === "number") return n;
  io.err(`archc run: ${n.error}`);
  return undefined;
}

/** Builds the network on a tfjs backend and times forward passes on random input. */
export async function runCommand(io: IO, file: string, opts: RunOptions): Promise<number> {
  const batch = positiveInt(io, "batch", opts.batch);
  const runs = positiveInt(io, "runs", opts.runs);
  const warmup = integerFlag("warmup", opts.warmup, 0);
  const threads = opts.threads === undefined ? undefined : positiveInt(io, "threads", opts.threads);
  if (batch === undefined || runs === undefined) return Exit.usage;
  if (opts.threads !== undefined && threads === undefined) return Exit.usage;
  if (typeof warmup !== "number") {
    io.err(`archc run: ${warmup.error}`);
    return Exit.usage;
  }
  const built = buildFromCli(io, file, opts);
  if ("exit" in built) return built.exit;
  if (opts.runtime === "onnx") {
    const { runOnnxCommand } = await import("./onnx.js");
    return runOnnxCommand(io, built.graph, {
      batch,
      runs,
      warmup,
      ...(opts.json ? { json: true } : {}),
      ...(opts.weights ? { weights: opts.weights } : {}),
    });
  }
  // tfjs is loaded only by the commands that run models: check and summary stay fast.
  const [model, inference, timing] = await Promise.all([
    import("../../backends/tfjs/model.js"),
    import("../../backends/tfjs/inference/index.js"),
    import("../../backends/tfjs/timing.js"),
  ]);
  const backend = await startBackend(io, "run", opts.backend, threads, !!opts.json);
  if ("exit" in backend) return backend.exit;
  let builtModel;
  try {
    builtModel = inference.buildInferenceFromIR(
      built.graph,
      // The batch is known: grouped layers get the fastest strategies that fit in memory together.
      opts.strategy && opts.strategy !== "auto"
        ? { groupedStrategy: opts.strategy }
        : { batch, mode: "forward" },
    );
  } catch (e) {
    if (e instanceof model.ModelBuildError) {
      io.err(`archc run: ${e.message}`);
      return Exit.diagnostics;
    }
    throw e;
  }
  const { model: m, program } = builtModel;
  const path = opts.inference ?? "program";
  const forward =
    path === "program" ? (x: Tensor) => program.predict(x) : (x: Tensor) => m.predict(x) as Tensor;
  // A large network on a slow backend takes minutes: say what is happening, with an ETA.
  const { Eta, formatDuration } = await import("../progress.js");
  const eta = new Eta();
  let lastLine = performance.now();
  if (!opts.json)
    io.err(`timing ${runs} forward passes of batch ${batch} after ${warmup} warm-up passes`);
  const t = await timing.timeForward(
    forward,
    built.graph.input,
    batch,
    runs,
    warmup,
    (done, total) => {
      const left = eta.update(done, total);
      if (opts.json || done === total || performance.now() - lastLine < 5000) return;
      lastLine = performance.now();
      io.err(`pass ${done}/${total}, ETA ${formatDuration(left ?? NaN)}`);
    },
  );
  const medianMs = t.medianMs;
  const result = {
    backend: backend.name,
    batch,
    params: m.countParams(),
    medianMs: Number(medianMs.toFixed(3)),
    minMs: t.minMs,
    maxMs: t.maxMs,
    imagesPerSec: Number(((batch * 1000) / medianMs).toFixed(2)),
    runs,
    inference: path,
    ...(path === "program"
      ? {
          foldedBatchNorms: program.summary.foldedBatchNorms,
          fusedActivations: program.summary.fusedActivations,
        }
      : {}),
  };
  const how =
    path === "program"
      ? `inference program: ${program.summary.steps} steps for ${program.summary.layers} layers, ${program.summary.foldedBatchNorms} batch norms folded, ${program.summary.fusedActivations} activations fused`
      : "tf.layers model.predict";
  if (opts.json) io.out(JSON.stringify(result, null, 2));
  else {
    io.out(
      `${built.graph.network} on ${backend.label}: batch ${batch}, median ${medianMs.toFixed(1)} ms per batch (min ${result.minMs}, max ${result.maxMs}, ${runs} runs after ${warmup} warm-up), ${result.imagesPerSec} images/s, ${result.params.toLocaleString("en-US")} params (${how})`,
    );
  }
  program.dispose();
  m.dispose();
  return Exit.ok;
}
