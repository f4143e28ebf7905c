import type { TrainConfig } from "../../language/config/train.js";
import type { Json } from "../../language/elaborate/values.js";
import type { Variant } from "../../language/variant.js";
import { archcVersion, type RunIdentity } from "../run/identity.js";

/** What a sweep decides for all its rows: the flags that change what is measured. */
export interface SweepSettings {
  /** specHash of the spec and its imports. */
  readonly spec: string;
  readonly measures: readonly string[];
  readonly snap: boolean;
  /** `torch` when --engine torch trains the variants. */
  readonly engine?: string;
  /** For --measure latency. */
  readonly latency: {
    readonly backend: string;
    readonly batch: number;
    readonly runs: number;
    readonly strategy: string;
  };
  /** For --measure train: what the command line sets over the train config. */
  readonly train: {
    readonly epochs?: number;
    readonly data?: string;
    readonly limit?: number;
    readonly valLimit?: number;
  };
}

/**
 * The identity of one row of a sweep: everything that decides its numbers. The sweep keys its
 * results by it, and `--merge` accepts a shard's row only when it is equal to the one the merging
 * command computes for the same variant.
 */
export function sweepRowIdentity(
  s: SweepSettings,
  v: Variant,
  config: TrainConfig,
  seed: number,
): RunIdentity {
  const training = s.measures.includes("train");
  return {
    archc: archcVersion(),
    spec: s.spec,
    network: v.network,
    args: Object.fromEntries(v.point) as unknown as Json,
    snap: s.snap,
    measures: [...s.measures].sort(),
    ...(s.engine === "torch" && training ? { engine: "torch" } : {}),
    // The grouped-convolution strategy (in latency) decides the time measured.
    ...(s.measures.includes("latency") ? { latency: { ...s.latency } } : {}),
    ...(training
      ? {
          train: {
            ...(config as unknown as { [k: string]: Json }),
            epochs: s.train.epochs ?? config.epochs,
          },
          data: {
            source: s.train.data ?? config.dataset ?? null,
            limit: s.train.limit ?? null,
            valLimit: s.train.valLimit ?? null,
          },
          seed,
        }
      : {}),
  };
}
