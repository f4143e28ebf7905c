import { cpus } from "node:os";
import { join } from "node:path";
import type { Json } from "../../language/elaborate/values.js";
import type { IRGraph } from "../../language/ir/types.js";
import { appendRegular, makeFolder, readRegularIfAny } from "../../util/files.js";
import { identityHash, networkHash, type RunIdentity } from "../run/index.js";
import type { Latency } from "../sweep/results.js";

/**
 * What a tfjs latency times: the inference program `archc run` runs (batch norms folded, fused
 * kernels, grouped strategies chosen for the batch), not `model.predict`. Part of a timing's
 * identity, so a row timed another way is timed again rather than taken for this measurement.
 */
export const TFJS_LATENCY_TIMES = "inference program";

/**
 * Median, fastest and slowest of `runs` timed forward passes of the network at `batch` (tfjs), as
 * `archc run` times them: its inference program, built as it builds it (grouped layers get the
 * fastest forward strategies for the batch that fit in memory, or `strategy` when one is named).
 */
export async function measureLatency(
  graph: IRGraph,
  batch: number,
  runs: number,
  backend: string,
  strategy = "auto",
): Promise<Latency> {
  const [{ buildInferenceFromIR }, { timeForward }] = await Promise.all([
    import("../../backends/tfjs/inference/index.js"),
    import("../../backends/tfjs/timing.js"),
  ]);
  const { model, program } = buildInferenceFromIR(
    graph,
    strategy !== "auto" ? { groupedStrategy: strategy } : { batch, mode: "forward" },
  );
  try {
    const t = await timeForward((x) => program.predict(x), graph.input, batch, runs, 2);
    return { backend, batch, ...t, runs };
  } finally {
    program.dispose();
    model.dispose();
  }
}

/** How a sweep or search times a configuration (a part of ExperimentSettings). */
export interface LatencySettings {
  readonly engine: "tfjs" | "torch";
  /** The tfjs backend that runs (its name gives its threads), e.g. "wasm (4 threads)". */
  readonly backendName: string;
  readonly backendThreads?: number;
  readonly latencyBatch?: number;
  readonly runs?: number;
  readonly strategy?: string;
  readonly python?: string;
  readonly torchThreads?: number;
}

/**
 * What decides a timing: the elaborated network, the engine and what runs it (tfjs backend and
 * threads, and what is timed, or torch's threads and Python), batch, passes, grouped-convolution
 * strategy, and the machine's processor.
 */
export function latencyIdentity(graph: IRGraph, s: LatencySettings): RunIdentity {
  const cpu = cpus();
  return {
    graph: networkHash(graph),
    engine: s.engine,
    ...(s.engine === "torch"
      ? { threads: s.torchThreads ?? null, python: s.python ?? null }
      : { backend: s.backendName, threads: s.backendThreads ?? null, times: TFJS_LATENCY_TIMES }),
    batch: s.latencyBatch ?? 1,
    runs: s.runs ?? 5,
    strategy: s.strategy ?? "auto",
    device: `${cpu[0]?.model ?? "unknown"} x${cpu.length}`,
  };
}

/** The timing of one configuration on the engine the settings name. */
export async function timeNetwork(graph: IRGraph, s: LatencySettings): Promise<Latency> {
  const batch = s.latencyBatch ?? 1;
  const runs = s.runs ?? 5;
  if (s.engine === "tfjs") return measureLatency(graph, batch, runs, s.backendName, s.strategy);
  const { measureTorchLatency } = await import("../torch/latency.js");
  return measureTorchLatency(graph, batch, runs, {
    ...(s.python ? { python: s.python } : {}),
    ...(s.torchThreads ? { threads: s.torchThreads } : {}),
  });
}

export const latencyFile = "latency.jsonl";

/**
 * Timings kept in DIR/latency.jsonl by their identity: a search's latency screening and the
 * rows it measures time each network once, and a rerun or a resumed search times none again.
 */
export class LatencyCache {
  private readonly known = new Map<string, Latency>();

  constructor(private readonly dir: string) {
    const text = dir ? readRegularIfAny(join(dir, latencyFile), { within: dir }) : undefined;
    for (const line of text?.toString("utf8").split("\n") ?? []) {
      try {
        const r = JSON.parse(line) as { key?: string; latency?: Latency };
        if (r.key && r.latency) this.known.set(r.key, r.latency);
      } catch {
        // A line cut short by a kill: that network is timed again.
      }
    }
  }

  /** The network's timing, from the cache or measured now (and kept). */
  async time(
    graph: IRGraph,
    s: LatencySettings,
  ): Promise<{ latency: Latency; cached: boolean; key: string }> {
    const identity = latencyIdentity(graph, s);
    const key = identityHash(identity);
    const known = this.known.get(key);
    if (known) return { latency: known, cached: true, key };
    const latency = await timeNetwork(graph, s);
    this.known.set(key, latency);
    if (this.dir) {
      makeFolder(this.dir);
      const path = join(this.dir, latencyFile);
      const text = readRegularIfAny(path, { within: this.dir });
      const fresh = !text?.length || text[text.length - 1] === 0x0a;
      const line = { key, identity, latency } as unknown as Json;
      appendRegular(path, (fresh ? "" : "\n") + JSON.stringify(line) + "\n");
    }
    return { latency, cached: false, key };
  }
}
