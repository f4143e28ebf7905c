import { existsSync } from "node:fs";
import type { Json } from "../../language/elaborate/values.js";
import type { Value } from "../../language/elaborate/values.js";
import { buildVariant, loadProgram } from "../../language/program.js";
import { boundArg, makeVariant } from "../../language/variant.js";
import { syntheticSpan } from "../../../grammar/span.js";
import { networkHash, readManifest, RunError, runPaths, sha256 } from "../../lab/run/index.js";
import { atomicWrite } from "../../util/atomicWrite.js";
import { Exit, type IO } from "../io.js";
import { report } from "../report.js";
import { outPathRefused } from "../outPath.js";

export interface ExportOptions {
  readonly out?: string;
  readonly format?: "tfjs" | "onnx";
  readonly best?: boolean;
}

/**
 * A trained run as a model others can load: a tfjs model folder (model.json + weights.bin) or
 * ONNX. The network is built again from the spec the manifest names, and must be the very
 * network that was trained (same IR hash); the weights come from the run's last checkpoint, or
 * with --best from best.bin (lowest validation loss).
 */
export async function exportCommand(io: IO, dir: string, opts: ExportOptions): Promise<number> {
  if (!opts.out) {
    io.err("archc export: give the destination with -o (a folder for tfjs, FILE.onnx for ONNX)");
    return Exit.usage;
  }
  const format = opts.format ?? (opts.out.endsWith(".onnx") ? "onnx" : "tfjs");
  if (outPathRefused(io, "export -o", opts.out, format === "onnx" ? "file" : "folder"))
    return Exit.usage;
  let manifest;
  try {
    manifest = readManifest(dir);
  } catch (e) {
    if (!(e instanceof RunError)) throw e;
    io.err(`archc export: ${e.message}`);
    return Exit.diagnostics;
  }
  const source = manifest?.source as
    { file?: string; network?: string; point?: Record<string, Value> } | undefined;
  if (!manifest || !source?.file || !source.network) {
    io.err(
      `archc export: ${dir} has no manifest.json naming its spec (is it an archc train run folder?)`,
    );
    return Exit.diagnostics;
  }
  const weightsFile = opts.best ? runPaths(dir).best : runPaths(dir).checkpoint;
  if (!existsSync(weightsFile)) {
    io.err(
      `archc export: ${weightsFile} does not exist${opts.best ? " (best.bin is written when the run has validation data)" : ""}`,
    );
    return Exit.diagnostics;
  }
  if (!existsSync(source.file)) {
    io.err(`archc export: the run's spec ${source.file} is gone`);
    return Exit.diagnostics;
  }
  const program = loadProgram(source.file);
  if (program.diagnostics.length) return report(io, program, program.diagnostics);
  const variant = makeVariant(
    source.network,
    Object.entries(source.point ?? {}).map(([k, v]) =>
      boundArg(k, v, syntheticSpan(`${dir}: ${k}`)),
    ),
  );
  const built = buildVariant(program, variant);
  if (!built.ok) return report(io, program, built.diagnostics);
  const graph = built.graph;
  const id = manifest.identity as { graph?: Json };
  // Runs of archc before networkHash hashed the nodes with their source positions.
  const same =
    id.graph === networkHash(graph) ||
    id.graph === sha256(JSON.stringify(graph.nodes)).slice(0, 16);
  if (id.graph !== undefined && !same) {
    io.err(
      `archc export: ${source.file} no longer builds the network ${dir} was trained as (the spec was edited since); restore the spec or train again`,
    );
    return Exit.diagnostics;
  }
  const [runtime, modelMod, ckpt] = await Promise.all([
    import("../../backends/tfjs/runtime.js"),
    import("../../backends/tfjs/model.js"),
    import("../../lab/train/checkpoint.js"),
  ]);
  await runtime.initBackend("wasm");
  const m = modelMod.buildModelFromIR(graph);
  try {
    try {
      await ckpt.loadCheckpoint(weightsFile, m);
    } catch (e) {
      if (!(e instanceof ckpt.CheckpointError)) throw e;
      io.err(`archc export: ${e.message}`);
      return Exit.diagnostics;
    }
    if (format === "onnx") {
      const { exportOnnx, OPSET } = await import("../../backends/onnx/export.js");
      const bytes = exportOnnx(graph, m);
      atomicWrite(opts.out, bytes);
      io.err(`wrote ${opts.out}: ONNX opset ${OPSET}, weights from ${weightsFile}`);
    } else {
      const { saveTfjsModel } = await import("../../backends/onnx/tfjs.js");
      await saveTfjsModel(m, opts.out);
      io.err(`wrote ${opts.out}/model.json and weights.bin, weights from ${weightsFile}`);
    }
  } finally {
    m.dispose();
  }
  return Exit.ok;
}
