import type { IRGraph } from "../../language/ir/types.js";
import type { Latency } from "../sweep/results.js";

/** Median, fastest and slowest of `runs` timed forward passes of the network at `batch` (tfjs). */
export async function measureLatency(
  graph: IRGraph,
  batch: number,
  runs: number,
  backend: string,
): Promise<Latency> {
  const [{ buildModelFromIR }, { timeForward }] = await Promise.all([
    import("../../backends/tfjs/model.js"),
    import("../../backends/tfjs/timing.js"),
  ]);
  const m = buildModelFromIR(graph);
  try {
    return { backend, batch, ...(await timeForward(m, graph.input, batch, runs, 2)), runs };
  } finally {
    m.dispose();
  }
}
