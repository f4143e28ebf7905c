import type { TrainConfig } from "../../language/config/train.js";
import type { Variant } from "../../language/variant.js";

/**
 * What a planner (sweep: a cross product or an experiment's models; search: a sample of a design
 * space's feasible set) hands the runner: the configurations to measure, in order, the axes that
 * name their table columns, and the train config each one uses.
 */
export interface ExperimentPlan {
  readonly variants: readonly Variant[];
  /** Table columns: each axis's value per row, or `model` when an experiment compares models. */
  readonly axes: readonly string[];
  /** The train config of variant i (undefined: the built-in default). */
  readonly configFor: (i: number) => TrainConfig | undefined;
  /** The default folder name, e.g. `sweep-tiny` (under runs/). */
  readonly name: string;
}
