import type { IRGraph, IRNode } from "../../language/ir/types.js";

/**
 * Batch-norm policy of a run, shared by both engines: the momentum of its moving averages, and
 * whether they are recalibrated on training data before each evaluation ("precise BN", as pycls'
 * compute_precise_bn_stats and fvcore's update_bn_stats do).
 *
 * Why: the moving averages start at mean 0, variance 1 and forget that start by a factor of
 * `momentum` per step; with Keras' 0.99, a run of a hundred steps evaluates with statistics that
 * are still a third the initial ones and lag the weights, so validation accuracy measures the
 * lag, not the network.
 */

/** `auto`: recalibrate when the run is too short for its momentum (see bnSettleSteps). */
export type PreciseBnMode = "auto" | "on" | "off";

export const preciseBnModes: readonly PreciseBnMode[] = ["auto", "on", "off"];

/** Training images the recalibration pass reads (pycls' default NUM_SAMPLES_PRECISE). */
export const preciseBnImages = 8192;

/** What is left of the moving averages' starting values when they count as settled. */
const settledResidue = 0.01;

/** Steps after which momentum^steps, the weight the initial statistics keep, is under 1%. */
export function bnSettleSteps(momentum: number): number {
  if (momentum <= 0) return 1;
  return Math.ceil(Math.log(settledResidue) / Math.log(momentum));
}

/** The slowest (largest) momentum of the network's batch norms; undefined without any. */
export function slowestBnMomentum(graph: IRGraph): number | undefined {
  const ms = graph.nodes.filter((n) => n.op === "bn").map((n) => n.attrs.momentum);
  return ms.length ? Math.max(...ms) : undefined;
}

/** The network with every batch norm's moving-average momentum set to `momentum`. */
export function withBnMomentum(graph: IRGraph, momentum: number | undefined): IRGraph {
  if (momentum === undefined || !graph.nodes.some((n) => n.op === "bn")) return graph;
  const nodes = graph.nodes.map((n): IRNode =>
    n.op === "bn" ? { ...n, attrs: { ...n.attrs, momentum } } : n,
  );
  return { ...graph, nodes };
}

/** --bn-momentum and the config's bn_momentum: in [0, 1), as Keras' BatchNormalization. */
export function checkBnMomentum(m: number): string | undefined {
  return Number.isFinite(m) && m >= 0 && m < 1
    ? undefined
    : `--bn-momentum must be in [0, 1) (Keras' momentum of the moving averages, e.g. 0.9), not ${m}`;
}

export interface BatchNormPlan {
  /** Recalibrate before each evaluation. */
  readonly precise: boolean;
  /** Images the recalibration reads (0 when off). */
  readonly images: number;
  /** One line saying what was decided and why, for the terminal. */
  readonly note?: string;
  /** Set when the run is too short for its momentum and nothing recalibrates: a warning. */
  readonly warning?: string;
}

/**
 * Decides precise BN for a run of `steps` training steps: `on` and `off` as told; `auto` turns it
 * on when the steps are fewer than the slowest momentum needs to forget its start.
 */
export function planBatchNorm(
  graph: IRGraph,
  mode: PreciseBnMode,
  steps: number,
  trainSize: number,
): BatchNormPlan {
  const m = slowestBnMomentum(graph);
  if (m === undefined) return { precise: false, images: 0 };
  const needed = bnSettleSteps(m);
  const short = steps < needed;
  const precise = mode === "on" || (mode === "auto" && short);
  const images = precise ? Math.min(preciseBnImages, trainSize) : 0;
  const why = `${steps} steps, batch-norm momentum ${m} settles in ${needed}`;
  if (precise)
    return {
      precise,
      images,
      note: `precise BN: batch-norm statistics recomputed on ${images} training images before each evaluation (${mode === "on" ? "--precise-bn on" : why})`,
    };
  if (short)
    return {
      precise,
      images,
      warning: `this run is too short for its batch norm (${why}) and --precise-bn is off: validation numbers reflect the moving averages' lag; use --precise-bn auto or a lower --bn-momentum (e.g. 0.9)`,
    };
  return { precise, images };
}
