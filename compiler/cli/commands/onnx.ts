import type { IRGraph } from "../../ir/types.js";
import { atomicWrite } from "../../util/atomicWrite.js";
import { Exit, type IO } from "../io.js";

/** A tfjs model for the graph, with a training run's weights when `weights` names its folder. */
async function weightedModel(graph: IRGraph, weights?: string) {
  const [runtime, model, checkpoint] = await Promise.all([
    import("../../backends/tfjs/runtime.js"),
    import("../../backends/tfjs/model.js"),
    import("../../train/checkpoint.js"),
  ]);
  await runtime.initBackend("wasm");
  const m = model.buildModelFromIR(graph);
  if (weights) await checkpoint.loadModelWeights(weights, m);
  return m;
}

/** `compile --target onnx`: ONNX bytes must go to a file, never to a terminal. */
export async function compileOnnx(
  io: IO,
  graph: IRGraph,
  opts: { out?: string; weights?: string },
): Promise<number> {
  if (!opts.out) {
    io.err("archc compile: --target onnx writes a binary file; give it with -o model.onnx");
    return Exit.usage;
  }
  const { exportOnnx } = await import("../../backends/onnx/export.js");
  let m;
  try {
    m = await weightedModel(graph, opts.weights);
  } catch (e) {
    io.err(`archc compile: ${e instanceof Error ? e.message : String(e)}`);
    return Exit.diagnostics;
  }
  const bytes = exportOnnx(graph, m);
  m.dispose();
  atomicWrite(opts.out, bytes);
  io.err(
    `wrote ${opts.out} (ONNX opset 13, ${(bytes.length / 1e6).toFixed(1)} MB, ${opts.weights ? `weights from ${opts.weights}` : "random weights"})`,
  );
  return Exit.ok;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** `run --runtime onnx`: the same report as the tfjs runtime, from onnxruntime-node. */
export async function runOnnxCommand(
  io: IO,
  graph: IRGraph,
  opts: { batch: number; runs: number; warmup: number; json?: boolean; weights?: string },
): Promise<number> {
  const [{ exportOnnx }, { openOnnx }] = await Promise.all([
    import("../../backends/onnx/export.js"),
    import("../../backends/onnx/runtime.js"),
  ]);
  const m = await weightedModel(graph, opts.weights);
  const params = m.countParams();
  const session = await openOnnx(exportOnnx(graph, m));
  m.dispose();
  const shape = [opts.batch, ...graph.input];
  const input = Float32Array.from(
    { length: shape.reduce((a, b) => a * b, 1) },
    () => Math.random() * 2 - 1,
  );
  const times: number[] = [];
  for (let i = 0; i < opts.warmup + opts.runs; i++) {
    const t0 = performance.now();
    await session.run(input, shape);
    if (i >= opts.warmup) times.push(performance.now() - t0);
  }
  await session.release();
  const medianMs = median(times);
  const backend = `onnxruntime-${session.provider}`;
  const result = {
    backend,
    batch: opts.batch,
    params,
    medianMs: Number(medianMs.toFixed(3)),
    minMs: Number(Math.min(...times).toFixed(3)),
    maxMs: Number(Math.max(...times).toFixed(3)),
    imagesPerSec: Number(((opts.batch * 1000) / medianMs).toFixed(2)),
    runs: opts.runs,
  };
  if (opts.json) io.out(JSON.stringify(result, null, 2));
  else
    io.out(
      `${graph.network} on ${backend}: batch ${opts.batch}, median ${medianMs.toFixed(1)} ms per batch (min ${result.minMs}, max ${result.maxMs}), ${result.imagesPerSec} images/s, ${params.toLocaleString("en-US")} params`,
    );
  return Exit.ok;
}
