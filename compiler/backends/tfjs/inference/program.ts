import * as tf from "@tensorflow/tfjs";
import type { LayerPlan } from "../plan.js";
import { fuseSteps, stepInputs, stepOutput, type Step } from "./fuse.js";
import { executable, type Executable } from "./steps.js";

/** What the program folded and fused, for `archc run`'s report. */
export interface ProgramSummary {
  /** Steps the program runs, against the plan's layers (input layers included). */
  readonly steps: number;
  readonly layers: number;
  /** Batch norms folded into the convolution (or dense layer) before them. */
  readonly foldedBatchNorms: number;
  /** Activations the convolution kernels apply. */
  readonly fusedActivations: number;
}

/**
 * A built model's forward pass as a flat list of tensor ops: no symbolic tensors, no per-layer
 * bookkeeping of tf.layers, batch norms folded into the convolutions before them, activations
 * applied by the convolution kernels, and every intermediate freed as soon as its last reader
 * has run. The weights are the model's (folded copies made once); `predict` computes what
 * `model.predict` computes, to float32 rounding.
 */
export interface InferenceProgram {
  readonly summary: ProgramSummary;
  predict(x: tf.Tensor): tf.Tensor;
  /** Frees the folded weights (the model keeps its own). */
  dispose(): void;
}

interface Compiled {
  readonly step: Step;
  readonly exec: Executable;
  readonly inputs: readonly string[];
  readonly output: string;
  /** The ids whose last reader this step is: freed after it runs. */
  readonly frees: readonly string[];
}

/**
 * Compiles `plan` (the plan `model` was instantiated from: same layer names) into an inference
 * program on the model's weights.
 */
export function inferenceProgram(plan: LayerPlan, model: tf.LayersModel): InferenceProgram {
  const steps = fuseSteps(plan);
  const lastReader = new Map<string, number>();
  steps.forEach((s, i) => stepInputs(s).forEach((id) => lastReader.set(id, i)));
  const compiled: Compiled[] = [];
  try {
    steps.forEach((step, i) => {
      const inputs = stepInputs(step);
      compiled.push({
        step,
        // The input layer makes no op: its slot is the tensor predict() is given.
        exec:
          step.kind === "layer" && step.layer.kind === "input"
            ? inputExec
            : executable(model, step),
        inputs,
        output: stepOutput(step),
        frees: [...new Set(inputs)].filter((id) => lastReader.get(id) === i && id !== plan.output),
      });
    });
  } catch (e) {
    for (const c of compiled) c.exec.dispose();
    throw e;
  }
  const conv = steps.filter((s) => s.kind === "conv");
  return {
    summary: {
      steps: steps.length,
      layers: plan.layers.length,
      foldedBatchNorms: conv.filter((s) => s.bn).length,
      fusedActivations: conv.filter((s) => s.activation !== "linear").length,
    },
    predict: (x) => tf.tidy(() => run(compiled, plan, x)),
    dispose: () => compiled.forEach((c) => c.exec.dispose()),
  };
}

const inputExec: Executable = {
  run: () => {
    throw new Error("internal error: the input step runs no op");
  },
  dispose: () => {},
};

function run(compiled: readonly Compiled[], plan: LayerPlan, x: tf.Tensor): tf.Tensor {
  const slots = new Map<string, tf.Tensor>();
  // An op may hand back its input (dropout at inference): a tensor is freed only when no slot
  // holds it any more, and never the caller's input.
  const holders = new Map<tf.Tensor, number>();
  const hold = (id: string, t: tf.Tensor) => {
    slots.set(id, t);
    holders.set(t, (holders.get(t) ?? 0) + 1);
  };
  const release = (id: string) => {
    const t = slots.get(id)!;
    slots.delete(id);
    const n = holders.get(t)! - 1;
    if (n > 0) holders.set(t, n);
    else {
      holders.delete(t);
      if (t !== x) t.dispose();
    }
  };
  for (const c of compiled) {
    if (c.exec === inputExec) {
      hold(c.output, x);
      continue;
    }
    const y = c.exec.run(c.inputs.map((id) => slots.get(id)!));
    hold(c.output, y);
    for (const id of c.frees) release(id);
  }
  return slots.get(plan.output)!;
}
