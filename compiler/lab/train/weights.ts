import { existsSync } from "node:fs";
import { join } from "node:path";
import type { OnnxWeights } from "../../backends/onnx/tensor.js";
import type { IRGraph } from "../../language/ir/types.js";

/**
 * The weights of a tfjs model folder (model.json + weights.bin) or an `archc train` run folder
 * (checkpoint.bin), by parameter name in ONNX's layout, or undefined when the folder holds
 * neither. They are loaded into a tfjs model built from the graph first, so a checkpoint of
 * another network fails by name, not by silent garbage. Shared by `compile --target onnx`,
 * `run --runtime onnx` and the torch target's `--weights`.
 */
export async function weightsFromFolder(
  graph: IRGraph,
  dir: string,
): Promise<OnnxWeights | undefined> {
  const isTfjs = existsSync(join(dir, "model.json"));
  if (!isTfjs && !existsSync(join(dir, "checkpoint.bin"))) return undefined;
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
      const { loadCheckpoint } = await import("./checkpoint.js");
      // Only the model's weights matter here; the optimizer's state in the checkpoint is dropped.
      await loadCheckpoint(dir, m);
    }
    return weights.weightsFromTfjs(m, graph);
  } finally {
    m.dispose();
  }
}
