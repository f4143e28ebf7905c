import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { atomicWrite, FileProblem, readRegular } from "../../util/files.js";

interface WeightsManifestGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

/**
 * Saves a tfjs model as tfjs' own file format, model.json + weights.bin (what tfjs-node's
 * `file://` handler writes, which pure tfjs lacks), through a custom save handler.
 */
export async function saveTfjsModel(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData
        ? new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData))
        : new Uint8Array();
      const manifest: WeightsManifestGroup[] = [
        { paths: ["weights.bin"], weights: artifacts.weightSpecs ?? [] },
      ];
      // Weights first: a model.json never points at weights that are not there yet.
      atomicWrite(join(dir, "weights.bin"), data);
      atomicWrite(
        join(dir, "model.json"),
        JSON.stringify({
          modelTopology: artifacts.modelTopology,
          format: artifacts.format ?? "layers-model",
          generatedBy: artifacts.generatedBy,
          convertedBy: artifacts.convertedBy ?? null,
          weightsManifest: manifest,
        }),
      );
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: "JSON",
          weightDataBytes: data.byteLength,
        },
      };
    }),
  );
}

/**
 * Loads the weights of a tfjs model.json folder (saveTfjsModel's, or tfjs-node's `file://`) into
 * `model`, a model built from the same network: only the weights are read, by name, so the
 * topology's custom layers (GroupedConv2D) need no deserialisation.
 */
export function loadTfjsWeights(dir: string, model: tf.LayersModel): void {
  // Every file by the file rule (util/files.ts): regular, and inside the model's folder.
  const path = join(dir, "model.json");
  let json: { weightsManifest?: WeightsManifestGroup[] };
  try {
    json = JSON.parse(readRegular(path, { within: dir }).toString("utf8")) as typeof json;
  } catch (e) {
    if (e instanceof SyntaxError) throw new FileProblem(path, `is not JSON: ${e.message}`);
    throw e;
  }
  if (!Array.isArray(json?.weightsManifest)) throw new FileProblem(path, "lists no weights");
  const map: tf.NamedTensorMap = {};
  for (const group of json.weightsManifest) {
    const parts = group.paths.map((p) => {
      const b = readRegular(join(dir, p), { within: dir });
      return Uint8Array.from(b).buffer;
    });
    Object.assign(map, tf.io.decodeWeights(tf.io.concatenateArrayBuffers(parts), group.weights));
  }
  try {
    // strict: a weight missing or left over means another network, never a partial load.
    model.loadWeights(map, true);
  } finally {
    for (const t of Object.values(map)) t.dispose();
  }
}
