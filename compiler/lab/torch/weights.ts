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
  const { weightsFromFolder } = await import("../train/weights.js");
  const weights = await weightsFromFolder(graph, dir);
  if (!weights)
    throw new Error(
      `${dir} holds neither model.json (a tfjs model), checkpoint.bin (an archc train run) nor ${torchWeightsFile} (a torch-engine run)`,
    );
  return safetensors(torchStateDict(graph, weights), { network: graph.network, source: dir });
}
