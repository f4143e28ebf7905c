import type { Schedule } from "../../language/config/train.js";

/** Where training stands, in every unit a schedule may count in. */
export interface Progress {
  readonly epochs: number;
  readonly samples: number;
  readonly steps: number;
}

/**
 * The learning rate at a point of training: staircase exponential decay, as in the paper
 * ("decay of rate 0.94 every 2 epochs", "0.9 every 3,000,000 samples").
 */
export function learningRate(base: number, schedule: Schedule, at: Progress): number {
  if (schedule.kind === "constant") return base;
  const done = at[schedule.every.unit];
  return base * schedule.rate ** Math.floor(done / schedule.every.amount);
}
