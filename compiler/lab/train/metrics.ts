import { atomicWrite } from "../../util/atomicWrite.js";
import { runPaths } from "../run/paths.js";

/** One finished epoch, as metrics.jsonl and metrics.csv record it. */
export interface EpochMetrics {
  readonly epoch: number;
  readonly step: number;
  readonly lr: number;
  readonly loss: number;
  readonly accuracy: number;
  readonly valLoss?: number;
  readonly valAccuracy?: number;
  readonly imagesPerSec: number;
  readonly seconds: number;
  /**
   * Of `seconds`, the time the training step waited for its next batch (the first process's,
   * on the torch engine): near 0 when data loading keeps up. Absent in runs from before it was
   * measured.
   */
  readonly dataWaitSeconds?: number;
}

export interface StepReport {
  readonly epoch: number;
  readonly batch: number;
  readonly batches: number;
  /** Epochs the run will train in all, and steps already done, for an ETA. */
  readonly epochs: number;
  readonly step: number;
  readonly loss: number;
  readonly accuracy: number;
  readonly imagesPerSec: number;
}

const csvColumns: readonly (keyof EpochMetrics)[] = [
  "epoch",
  "step",
  "lr",
  "loss",
  "accuracy",
  "valLoss",
  "valAccuracy",
  "imagesPerSec",
  "seconds",
  "dataWaitSeconds",
];
/** Keras' CSVLogger names, so that tools made for it read ours. */
const csvNames = [
  "epoch",
  "step",
  "lr",
  "loss",
  "accuracy",
  "val_loss",
  "val_accuracy",
  "images_per_sec",
  "seconds",
  "data_wait_seconds",
];

/**
 * Writes metrics.jsonl and metrics.csv from the history a checkpoint holds. Both are rewritten
 * whole (atomically) rather than appended, so they always agree with the checkpoint beside them,
 * whatever moment a run was killed at.
 */
export function writeMetrics(dir: string, history: readonly EpochMetrics[]): void {
  const p = runPaths(dir);
  atomicWrite(p.metrics, history.map((m) => JSON.stringify(m) + "\n").join(""));
  const rows = history.map((m) =>
    csvColumns.map((c) => (m[c] === undefined ? "" : String(m[c]))).join(","),
  );
  atomicWrite(p.csv, [csvNames.join(","), ...rows].join("\n") + "\n");
}
