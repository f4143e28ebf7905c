import type { Diagnostic } from "../../../grammar/diagnostic.js";
import { compares } from "../../language/config/constraints.js";
import { buildVariant, type Program } from "../../language/program.js";
import type { Latency } from "../sweep/results.js";
import { LatencyCache, type LatencySettings } from "./latency.js";
import { forget } from "./runner.js";
import { emptiedBy, sample, type Configuration, type SearchPlan } from "./search.js";
import { handlePendingSignals, interruptible } from "./signals.js";

/** What a latency screening found, for the output to say how the numbers were made. */
export interface ScreenReport {
  /** Configurations timed (all that meet the exact constraints), and how many came from the cache. */
  readonly timed: number;
  readonly cached: number;
  /** Those that meet every latency bound. */
  readonly feasible: number;
  /** Median of `runs` timed passes at `batch`, on `backend`. */
  readonly runs: number;
  readonly batch: number;
  readonly backend: string;
  /** (slowest - fastest) / median of a configuration's passes: the median and the largest. */
  readonly spread: { readonly median: number; readonly max: number };
  /** Configurations whose fastest and slowest passes lie on both sides of a bound. */
  readonly nearBound: number;
}

export type ScreenOutcome =
  | { readonly plan: SearchPlan; readonly report: ScreenReport }
  | { readonly diagnostic: Diagnostic }
  | { readonly interrupted: true; readonly timed: number; readonly of: number };

export interface ScreenHooks {
  /** A candidate is timed (or its timing found in the cache). */
  readonly onTimed?: (label: string, cached: boolean) => void;
  /** The first Ctrl-C: screening stops after the current timing. */
  readonly onStopping?: () => void;
}

/**
 * A search's latency constraints: times every configuration that meets the exact constraints,
 * cheapest first, with the engine, threads and batch the rows use (cached in OUT/latency.jsonl by
 * identity), keeps those whose median meets every latency bound, and draws the sample from them
 * as planSearch draws it. An empty set is E0605 at the bound that emptied it, with the nearest
 * bound that admits a configuration. Ctrl-C stops after the current timing; the same command
 * continues from the cache. The caller holds the folder's lock.
 */
export async function screenLatency(
  program: Program,
  plan: SearchPlan,
  s: LatencySettings & { readonly outDir: string; readonly fresh?: boolean },
  hooks: ScreenHooks = {},
): Promise<ScreenOutcome> {
  const sc = plan.screening;
  if (!sc) throw new Error("screenLatency: the plan has no latency constraints");
  if (s.fresh) forget(s.outDir);
  const cache = new LatencyCache(s.outDir);
  const signals = interruptible(() => hooks.onStopping?.());
  const timed: { x: Configuration; latency: Latency; i: number }[] = [];
  let cached = 0;
  try {
    for (const [i, x] of sc.candidates.entries()) {
      await handlePendingSignals();
      if (signals.stopped())
        return { interrupted: true, timed: timed.length, of: sc.candidates.length };
      const v = plan.variants[i]!;
      const built = buildVariant(program, v);
      // Counted as valid, it elaborates: anything else is archc's own error.
      if (!built.ok) throw new Error(`${v.label}: ${built.diagnostics[0]!.message}`);
      const t = await cache.time(built.graph, s);
      if (t.cached) cached++;
      timed.push({ x, latency: t.latency, i });
      hooks.onTimed?.(v.label, t.cached);
    }
  } finally {
    signals.dispose();
  }
  const meets = timed.filter((t) => sc.latency.every((c) => compares(c, t.latency.medianMs)));
  if (!meets.length)
    return {
      diagnostic: emptiedBy(
        timed,
        sc.latency,
        sc.space.net.name.name,
        (t) => t.latency.medianMs,
        sc.exact.length > 0,
      ),
    };
  // Drawn in space order, as a search without latency bounds draws.
  const inOrder = [...meets].sort((a, b) => a.x.index - b.x.index);
  const picked = sample(inOrder.length, sc.samples, sc.seed).map((k) => inOrder[k]!);
  const spreads = timed
    .map((t) => (t.latency.maxMs - t.latency.minMs) / t.latency.medianMs)
    .sort((a, b) => a - b);
  const nearBound = timed.filter((t) =>
    sc.latency.some((c) => compares(c, t.latency.minMs) !== compares(c, t.latency.maxMs)),
  ).length;
  const first = timed[0]!.latency;
  const { screening: _done, ...rest } = plan;
  return {
    plan: { ...rest, variants: picked.map((t) => plan.variants[t.i]!), feasible: meets.length },
    report: {
      timed: timed.length,
      cached,
      feasible: meets.length,
      runs: first.runs,
      batch: first.batch,
      // torch names its device and threads; tfjs's threads are the backend's.
      backend:
        s.engine === "tfjs" && s.backendThreads
          ? `${first.backend} (${s.backendThreads} thread${s.backendThreads === 1 ? "" : "s"})`
          : first.backend,
      spread: {
        median: spreads[Math.floor(spreads.length / 2)] ?? 0,
        max: spreads[spreads.length - 1] ?? 0,
      },
      nearBound,
    },
  };
}
