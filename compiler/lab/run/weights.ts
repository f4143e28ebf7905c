import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { onnxParameters } from "../../backends/onnx/parameters.js";
import type { OnnxTensor, OnnxWeights } from "../../backends/onnx/tensor.js";
import {
  float32Of,
  parseSafetensors,
  SafetensorsError,
  type RawTensor,
} from "../../backends/torch/safetensors.js";
import { onnxFromStateDict } from "../../backends/torch/weights.js";
import type { IRGraph } from "../../language/ir/types.js";
import { FileProblem, isMissing, readRegular as readFileRule } from "../../util/files.js";
import { modelTensors, readTorchCheckpoint } from "../torch/checkpoint.js";
import { CheckpointError } from "./frame.js";
import { readManifest, RunError } from "./manifest.js";
import { runPaths } from "./paths.js";

/** Weights that cannot be used; the message names the file and says what is wrong. */
export class WeightsError extends Error {}

/** A file's bytes under the file rule (util/files.ts: regular files only, never a FIFO). */
function readRegular(path: string): Buffer {
  try {
    return readFileRule(path);
  } catch (e) {
    if (isMissing(e)) throw new WeightsError(`${path} does not exist`);
    throw e;
  }
}

/** The file torch-engine runs keep their latest weights in, in the generated module's names. */
export const torchWeightsFile = "weights.safetensors";

/** What every version of the embedded trainer's checkpoints starts with (frame.ts). */
const framedMagic = Buffer.from("ARCHCKP");

export interface LoadedWeights {
  /** By ONNX parameter name and in ONNX's layout (the naming contract of every backend). */
  readonly weights: OnnxWeights;
  /** The file they were read from, for messages ("weights from ..."). */
  readonly file: string;
  /** What wrote them. */
  readonly kind: "tfjs-run" | "torch-run" | "tfjs-model" | "safetensors";
}

/**
 * The one way archc loads trained weights, whatever made them: a run folder of either engine
 * (its checkpoint.bin, or best.bin with `best`), a tfjs model folder (model.json), a folder
 * with weights.safetensors, or a .safetensors file (the generated module's names). Used by
 * export, compile --weights (every target), run --runtime onnx and eval.
 *
 * Everything is verified before it is returned: only regular files are read (never a FIFO or
 * a device), checksums where the file has them, and every parameter the network has, with its
 * shape, and nothing else, all finite. Every problem is a WeightsError naming the file.
 */
export async function loadWeights(
  graph: IRGraph,
  path: string,
  o: { best?: boolean } = {},
): Promise<LoadedWeights> {
  try {
    const loaded = await read(graph, path, o.best ?? false);
    checkAgainstGraph(graph, loaded);
    return loaded;
  } catch (e) {
    if (
      e instanceof CheckpointError ||
      e instanceof RunError ||
      e instanceof FileProblem ||
      e instanceof WeightsError
    )
      throw new WeightsError(e.message);
    throw e;
  }
}

async function read(graph: IRGraph, path: string, best: boolean): Promise<LoadedWeights> {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new WeightsError(`${path} does not exist`);
  }
  if (!isDir) return fromSafetensorsFile(graph, path);
  const p = runPaths(path);
  const manifest = readManifest(path);
  const checkpoint = best ? p.best : p.checkpoint;
  if (manifest || existsSync(checkpoint)) {
    if (!existsSync(checkpoint))
      throw new WeightsError(
        `${checkpoint} does not exist${best ? " (best.bin is written when the run has validation data)" : " (the run has not finished a step yet)"}`,
      );
    const engine = (manifest?.identity as { engine?: unknown } | undefined)?.engine;
    // Without a manifest the file itself says which engine wrote it (readRegular: never a FIFO).
    const torch =
      engine === "torch" ||
      (engine === undefined &&
        !readRegular(checkpoint).subarray(0, framedMagic.length).equals(framedMagic));
    if (torch) {
      const c = readTorchCheckpoint(checkpoint);
      return {
        weights: fromStateDict(graph, modelTensors(c), checkpoint),
        file: checkpoint,
        kind: "torch-run",
      };
    }
    readRegular(checkpoint);
    return { weights: await fromTfjs(graph, path, checkpoint), file: checkpoint, kind: "tfjs-run" };
  }
  if (existsSync(join(path, "model.json")))
    return {
      weights: await fromTfjs(graph, path),
      file: join(path, "model.json"),
      kind: "tfjs-model",
    };
  if (existsSync(join(path, torchWeightsFile)))
    return fromSafetensorsFile(graph, join(path, torchWeightsFile));
  throw new WeightsError(
    `${path} holds no weights archc knows: neither a run (manifest.json, checkpoint.bin), a tfjs model (model.json) nor ${torchWeightsFile}`,
  );
}

function fromSafetensorsFile(graph: IRGraph, file: string): LoadedWeights {
  let tensors: ReadonlyMap<string, RawTensor>;
  try {
    tensors = parseSafetensors(readRegular(file)).tensors;
  } catch (e) {
    if (e instanceof SafetensorsError) throw new WeightsError(`${file} ${e.message}`);
    throw e;
  }
  return { weights: fromStateDict(graph, tensors, file), file, kind: "safetensors" };
}

function fromStateDict(
  graph: IRGraph,
  tensors: ReadonlyMap<string, RawTensor>,
  file: string,
): OnnxWeights {
  const state = new Map<string, OnnxTensor>();
  for (const [name, t] of tensors) {
    if (t.dtype !== "F32")
      throw new WeightsError(`${file} holds ${name} as ${t.dtype}; weights are F32`);
    state.set(name, { dims: t.shape, data: float32Of(t) });
  }
  try {
    return onnxFromStateDict(graph, state);
  } catch (e) {
    throw new WeightsError(`${file}: ${(e as Error).message}`);
  }
}

/** An embedded-trainer checkpoint or a tfjs model folder, through a tfjs model of the graph. */
async function fromTfjs(graph: IRGraph, dir: string, checkpoint?: string): Promise<OnnxWeights> {
  const [runtime, model, weights] = await Promise.all([
    import("../../backends/tfjs/runtime.js"),
    import("../../backends/tfjs/model.js"),
    import("../../backends/onnx/weights.js"),
  ]);
  await runtime.initBackend("wasm");
  const m = model.buildModelFromIR(graph);
  try {
    if (checkpoint) {
      const { loadCheckpoint } = await import("../train/checkpoint.js");
      // Only the model's weights matter here; the optimizer's state in the checkpoint is dropped.
      await loadCheckpoint(checkpoint, m);
    } else {
      const { loadTfjsWeights } = await import("../../backends/onnx/tfjs.js");
      readRegular(join(dir, "model.json"));
      try {
        loadTfjsWeights(dir, m);
      } catch (e) {
        throw new WeightsError(`${join(dir, "model.json")}: ${(e as Error).message}`);
      }
    }
    return weights.weightsFromTfjs(m, graph);
  } finally {
    m.dispose();
  }
}

/** Every parameter of the network, with its shape, and finite: else the file was not made for it. */
function checkAgainstGraph(graph: IRGraph, loaded: LoadedWeights): void {
  const { weights, file } = loaded;
  const expected = onnxParameters(graph);
  for (const p of expected) {
    const t = weights.get(p.name);
    if (!t)
      throw new WeightsError(
        `${file} has no weight ${p.name}: it was made for another network than ${graph.network}`,
      );
    if (t.dims.length !== p.dims.length || t.dims.some((d, i) => d !== p.dims[i]))
      throw new WeightsError(
        `${file} holds ${p.name} with shape [${t.dims.join(", ")}], but ${graph.network}'s is [${p.dims.join(", ")}]: it was made for another network or other arguments`,
      );
    const bad = t.data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0)
      throw new WeightsError(
        `${file} holds ${t.data[bad]} in ${p.name} (at index ${bad}): the weights are not usable (a diverged run or a damaged file)`,
      );
  }
  const names = new Set(expected.map((p) => p.name));
  const extra = [...weights.keys()].filter((k) => !names.has(k));
  if (extra.length)
    throw new WeightsError(
      `${file} holds ${extra.slice(0, 3).join(", ")}, which ${graph.network} does not have: it was made for another network`,
    );
}
