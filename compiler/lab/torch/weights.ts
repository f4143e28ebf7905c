import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { IRGraph } from "../../language/ir/types.js";
import { safetensors, torchStateDict } from "../../backends/torch/weights.js";

/** Where a torch-engine run keeps its latest weights, in the generated module's names. */
export const torchWeightsFile = "weights.safetensors";

/**
 * The weights `--weights DIR` names as a safetensors file for the generated module: a tfjs model
 * folder (model.json), an embedded-trainer run (checkpoint.bin), or a torch-engine run
 * (weights.safetensors, taken as it is). Loaded into a tfjs model built from the graph first, so
 * weights of another network fail by name.
 */
export async function torchWeightsFrom(graph: IRGraph, dir: string): Promise<Uint8Array> {
  if (existsSync(join(dir, torchWeightsFile))) return readFileSync(join(dir, torchWeightsFile));
  const isTfjs = existsSync(join(dir, "model.json"));
  if (!isTfjs && !existsSync(join(dir, "checkpoint.bin")))
    throw new Error(
      `${dir} holds neither model.json (a tfjs model), checkpoint.bin (an archc train run) nor ${torchWeightsFile} (a torch-engine run)`,
    );
  const [runtime, model, weights] = await Promise.all([
    import("../../backends/tfjs/runtime.js"),
    import("../../backends/tfjs/model.js"),
    import("../../backends/onnx/weights.js"),
  ]);
  await runtime.initBackend("wasm");
  const m = model.buildModelFromIR(graph);
  try {
    if (isTfjs) {
      const { loadTfjsWeights } = await import("../../backends/onnx/tfjs.js");
      loadTfjsWeights(dir, m);
    } else {
      const { loadCheckpoint } = await import("../train/checkpoint.js");
      await loadCheckpoint(dir, m);
    }
    return safetensors(torchStateDict(graph, weights.weightsFromTfjs(m, graph)), {
      network: graph.network,
      source: dir,
    });
  } finally {
    m.dispose();
  }
}
