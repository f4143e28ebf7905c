import { integerFlag } from "../../util/integerFlag.js";
import type { OnnxWeights } from "../../backends/onnx/export.js";
import type { IRGraph } from "../../language/ir/types.js";
import { atomicWrite } from "../../util/atomicWrite.js";
import { Exit, type IO } from "../io.js";
import { importModule } from "../../util/importModule.js";

/**
 * The weights `--weights PATH` names, as ONNX initializers: anything the lab's `loadWeights`
 * reads (a run of either engine, a tfjs model folder, a .safetensors file), verified against the
 * graph. Without a path: undefined, i.e. seeded random weights, and tfjs is never loaded.
 */
async function loadWeights(graph: IRGraph, path?: string): Promise<OnnxWeights | undefined> {
  if (!path) return undefined;
  const lab = await import("../../lab/run/weights.js");
  return (await lab.loadWeights(graph, path)).weights;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** `compile --target onnx`: ONNX bytes go to a file (atomically), never to a terminal. */
export async function compileOnnx(
  io: IO,
  graph: IRGraph,
  opts: { out?: string; weights?: string; seed?: string },
): Promise<number> {
  if (!opts.out) {
    io.err("archc compile: --target onnx writes a binary file; give it with -o model.onnx");
    return Exit.usage;
  }
  const seed = integerFlag("seed", opts.seed ?? "1", 0);
  if (typeof seed !== "number") {
    io.err(`archc compile: ${seed.error}`);
    return Exit.usage;
  }
  if (opts.weights && opts.seed !== undefined && opts.seed !== "1")
    io.err("archc compile: --seed has no effect with --weights (the weights are given)");
  const { exportOnnx, OPSET } = await import("../../backends/onnx/export.js");
  let bytes: Uint8Array;
  try {
    bytes = exportOnnx(graph, await loadWeights(graph, opts.weights), { seed });
  } catch (e) {
    io.err(`archc compile: ${message(e)}`);
    return Exit.diagnostics;
  }
  atomicWrite(opts.out, bytes);
  io.err(
    `wrote ${opts.out}: ONNX opset ${OPSET}, input NHWC [N, ${graph.input.join(", ")}], ${(bytes.length / 1e6).toFixed(1)} MB, ${opts.weights ? `weights from ${opts.weights}` : `random weights (seed ${seed})`}`,
  );
  return Exit.ok;
}

/** `run --runtime onnx`: the tfjs run's report, measured in onnxruntime-node. */
export async function runOnnxCommand(
  io: IO,
  graph: IRGraph,
  opts: { batch: number; runs: number; warmup: number; json?: boolean; weights?: string },
): Promise<number> {
  const [{ exportOnnx }, { timeOnnx }, ort] = await Promise.all([
    import("../../backends/onnx/export.js"),
    import("../../backends/onnx/runtime.js"),
    importModule("onnxruntime-node", () => import("onnxruntime-node")),
  ]);
  let bytes: Uint8Array;
  try {
    bytes = exportOnnx(graph, await loadWeights(graph, opts.weights));
  } catch (e) {
    io.err(`archc run: ${message(e)}`);
    return Exit.diagnostics;
  }
  const t = await timeOnnx(bytes, opts.batch, opts.runs, opts.warmup);
  const backend = `onnxruntime-${t.provider}`;
  if (!opts.json)
    io.err(`backend: onnxruntime-node ${ort.env.versions.node ?? ""} (${t.provider})`);
  // The IR's count: the same number tfjs' countParams gives (tested), without loading tfjs.
  const params = graph.totals.params.total;
  const result = {
    backend,
    batch: opts.batch,
    params,
    medianMs: Number(t.medianMs.toFixed(3)),
    minMs: Number(t.minMs.toFixed(3)),
    maxMs: Number(t.maxMs.toFixed(3)),
    imagesPerSec: Number(((opts.batch * 1000) / t.medianMs).toFixed(2)),
    runs: opts.runs,
  };
  if (opts.json) io.out(JSON.stringify(result, null, 2));
  else
    io.out(
      `${graph.network} on ${backend}: batch ${opts.batch}, median ${t.medianMs.toFixed(1)} ms per batch (min ${result.minMs}, max ${result.maxMs}, ${opts.runs} runs after ${opts.warmup} warm-up), ${result.imagesPerSec} images/s, ${params.toLocaleString("en-US")} params`,
    );
  return Exit.ok;
}
