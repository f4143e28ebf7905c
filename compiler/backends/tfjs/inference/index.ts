import type * as tf from "@tensorflow/tfjs";
import type { IRGraph } from "../../../language/ir/types.js";
import { instantiatePlan, planForBuild, type BuildOptions } from "../model.js";
import { inferenceProgram, type InferenceProgram } from "./program.js";

export { fuseSteps, type FusedActivation, type Step } from "./fuse.js";
export { inferenceProgram, type InferenceProgram, type ProgramSummary } from "./program.js";

/**
 * The model as buildModelFromIR builds it (same weights, same grouped strategies) and its
 * inference program, which `archc run` times.
 */
export function buildInferenceFromIR(
  graph: IRGraph,
  opts: BuildOptions = {},
): { model: tf.LayersModel; program: InferenceProgram } {
  const plan = planForBuild(graph, opts);
  const model = instantiatePlan(plan);
  try {
    return { model, program: inferenceProgram(plan, model) };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
