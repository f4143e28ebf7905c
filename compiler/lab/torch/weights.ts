import type { IRGraph } from "../../language/ir/types.js";
import { safetensors, torchStateDict } from "../../backends/torch/weights.js";
import { loadWeights } from "../run/weights.js";

export { torchWeightsFile } from "../run/weights.js";

/**
 * The weights `--weights PATH` names (anything `loadWeights` reads: a run of either engine, a
 * tfjs model folder, a .safetensors file), verified against the graph, as a safetensors file for
 * the generated module, with its checksum. Never the input's bytes as they are: what is written
 * is what was checked.
 */
export async function torchWeightsFrom(graph: IRGraph, path: string): Promise<Uint8Array> {
  const { weights } = await loadWeights(graph, path);
  return safetensors(torchStateDict(graph, weights), { network: graph.network, source: path });
}
