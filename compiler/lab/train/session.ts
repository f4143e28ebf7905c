import type { TrainConfig } from "../../language/config/train.js";
import type { IRGraph } from "../../language/ir/types.js";
import { buildModelFromIR } from "../../backends/tfjs/model.js";
import { openDataset } from "./data/index.js";
import { seedWeights } from "./init.js";
import { train, type EpochMetrics, type StepReport, type TrainResult } from "./loop.js";

export interface SessionOptions {
  readonly graph: IRGraph;
  readonly config: TrainConfig;
  /** synthetic[:N], fashion-mnist, an IDX folder or an image folder; else the config's dataset. */
  readonly data?: string;
  readonly valData?: string;
  readonly epochs?: number;
  readonly batch?: number;
  readonly limit?: number;
  readonly valLimit?: number;
  readonly outDir: string;
  readonly resume?: boolean;
  readonly seed?: number;
  readonly skipCorrupt?: boolean;
  readonly onStep?: (r: StepReport) => void;
  readonly onEpoch?: (m: EpochMetrics) => void;
  readonly shouldStop?: () => boolean;
}

export interface SessionResult extends TrainResult {
  readonly params: number;
  readonly epochs: number;
  readonly skipped: number;
}

/** No dataset named anywhere: the user must say which. */
export class NoDataError extends Error {}

/**
 * One training run of one network: opens its data (shaped to the network's input), builds the
 * model with seeded weights, and trains it. Shared by `archc train` and `archc sweep`.
 */
export async function trainNetwork(o: SessionOptions): Promise<SessionResult> {
  const { graph, config } = o;
  const spec = o.data ?? config.dataset;
  if (!spec)
    throw new NoDataError(
      `no data for ${graph.network}: pass --data (synthetic, fashion-mnist, an IDX folder or an image folder)`,
    );
  const shape = graph.input as [number, number, number];
  const classes = graph.nodes[graph.output]!.shape[0]!;
  const seed = o.seed ?? 0;
  const common = { shape, classes, seed, ...(o.skipCorrupt ? { skipCorrupt: true } : {}) };
  const trainData = await openDataset(spec, {
    ...common,
    split: "train",
    ...(o.limit ? { limit: o.limit } : {}),
  });
  const valLimit = o.valLimit ?? (o.limit ? Math.max(1, Math.ceil(o.limit / 5)) : undefined);
  const valData = await openDataset(o.valData ?? spec, {
    ...common,
    split: "val",
    ...(valLimit ? { limit: valLimit } : {}),
  });
  const model = buildModelFromIR(graph);
  try {
    seedWeights(model, seed);
    const last = graph.nodes[graph.output]!;
    const probabilities =
      (last.op === "dense" || last.op === "act") && last.attrs.activation === "softmax";
    const epochs = o.epochs ?? config.epochs;
    const result = await train({
      model,
      config,
      train: trainData,
      val: valData,
      epochs,
      batch: o.batch ?? config.batch,
      outDir: o.outDir,
      resume: o.resume ?? false,
      seed,
      probabilities,
      ...(o.onStep ? { onStep: o.onStep } : {}),
      ...(o.onEpoch ? { onEpoch: o.onEpoch } : {}),
      ...(o.shouldStop ? { shouldStop: o.shouldStop } : {}),
    });
    return {
      ...result,
      params: model.countParams(),
      epochs,
      skipped: trainData.skipped?.length ?? 0,
    };
  } finally {
    model.dispose();
  }
}

/** A run folder name from a variant label: `xception(parts = 4)` -> `xception_parts_=_4`. */
export function runFolderName(label: string): string {
  return label.replace(/[^A-Za-z0-9=_-]+/g, "_").replace(/_+$/g, "");
}
