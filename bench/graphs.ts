import { buildNetwork, loadProgram, pickNetwork } from "../compiler/language/program.js";
import type { IRGraph } from "../compiler/language/ir/types.js";

/** An IR graph from spec text held in memory, for benchmarks of single layers. */
export function mustBuildGraph(text: string): IRGraph {
  const p = loadProgram("/virtual/bench.arch", () => text);
  const net = pickNetwork(p);
  if ("code" in net) throw new Error(net.message);
  const r = buildNetwork(p, net, []);
  if (!r.ok) throw new Error(r.diagnostics[0]!.message);
  return r.graph;
}
