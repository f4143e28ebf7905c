import * as tf from "@tensorflow/tfjs";
import type { IRGraph } from "../../language/ir/types.js";
import { frugalGradients } from "./gradients.js";
import { memoryBudget } from "./grouped/index.js";
import { activationBytes } from "./model.js";

// Why: a training step keeps, for the backward pass, several tensors the size of
// every layer's output. Xception at 299x299 and batch 8 needs far more than the
// wasm backend's 4 GiB heap that way, even with the frugal backward pass
// (gradients.ts), so the step could not run at all. Gradient checkpointing trades
// one more forward pass for that memory: the model is cut into segments where a
// single tensor flows from one to the next; the forward pass keeps only those
// boundary tensors, and the backward pass recomputes one segment at a time, under
// the tape, and backpropagates through it before moving to the one before. The
// gradients are the same as without checkpointing (the same kernels on the same
// values); side effects of a training forward pass (batch norm's moving averages)
// are undone after each recomputation so they happen once, as before.

interface Step {
  readonly layer: tf.layers.Layer;
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
}

interface Plan {
  readonly input: number;
  readonly output: number;
  readonly steps: readonly Step[];
  /** Segment i runs steps [starts[i], starts[i+1]); it reads boundaries[i], yields boundaries[i+1]. */
  readonly starts: readonly number[];
  readonly boundaries: readonly number[];
}

/** A layer whose training forward pass is random (it would not recompute the same values). */
const stochastic = (layer: tf.layers.Layer): boolean => /dropout|noise/i.test(layer.getClassName());

/**
 * Cuts a single-input, single-output functional model into about `segments` segments, each
 * ending where exactly one tensor is live, with about equal activation sizes; the random
 * layers (dropout) all stay in the last segment, which is never recomputed.
 */
export function planCheckpoints(model: tf.LayersModel, segments?: number): Plan {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error("checkpointing needs a model with one input and one output");
  }
  const steps: Step[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() === "InputLayer") continue;
    if (layer.inboundNodes.length !== 1) {
      throw new Error(`checkpointing needs each layer used once; '${layer.name}' is shared`);
    }
    const node = layer.inboundNodes[0]!;
    steps.push({
      layer,
      inputs: node.inputTensors.map((t) => t.id),
      outputs: node.outputTensors.map((t) => t.id),
    });
  }
  const input = model.inputs[0]!.id;
  const output = model.outputs[0]!.id;
  const lastUse = new Map<number, number>([[output, steps.length]]);
  steps.forEach((s, i) => s.inputs.forEach((id) => lastUse.set(id, i)));
  const size = (i: number): number =>
    steps[i]!.layer.inboundNodes[0]!.outputTensors.reduce(
      (a, t) => a + t.shape.reduce((p: number, d) => p * (d ?? 1), 1),
      0,
    );
  const total = steps.reduce((a, _, i) => a + size(i), 0);
  const wanted = segments ?? Math.max(1, Math.round(Math.sqrt(steps.length)));
  const firstRandom = steps.findIndex((s) => stochastic(s.layer));
  const lastCut = firstRandom < 0 ? steps.length - 1 : firstRandom;
  const starts = [0];
  const boundaries = [input];
  const live = new Set([input]);
  let acc = 0;
  for (let i = 0; i < steps.length - 1; i++) {
    for (const id of steps[i]!.outputs) live.add(id);
    for (const id of [...live]) if ((lastUse.get(id) ?? -1) <= i) live.delete(id);
    acc += size(i);
    if (i + 1 < lastCut && live.size === 1 && acc >= total / wanted) {
      starts.push(i + 1);
      boundaries.push([...live][0]!);
      acc = 0;
    }
  }
  return { input, output, steps, starts, boundaries };
}

function runSegment(plan: Plan, s: number, from: tf.Tensor): tf.Tensor {
  const values = new Map<number, tf.Tensor>([[plan.boundaries[s]!, from]]);
  const end = plan.starts[s + 1] ?? plan.steps.length;
  for (let i = plan.starts[s]!; i < end; i++) {
    const step = plan.steps[i]!;
    const ins = step.inputs.map((id) => values.get(id)!);
    const out = step.layer.apply(ins.length === 1 ? ins[0]! : ins, { training: true });
    const outs = Array.isArray(out) ? out : [out];
    step.outputs.forEach((id, k) => values.set(id, outs[k] as tf.Tensor));
  }
  return values.get(s + 1 < plan.starts.length ? plan.boundaries[s + 1]! : plan.output)!;
}

const plans = new WeakMap<tf.LayersModel, Map<number | undefined, Plan>>();

/** The model's plan; one segment (no recomputation) where it cannot be cut (shared layers). */
function planFor(model: tf.LayersModel, segments?: number): Plan {
  let byCount = plans.get(model);
  if (!byCount) plans.set(model, (byCount = new Map()));
  let plan = byCount.get(segments);
  if (!plan) {
    try {
      plan = planCheckpoints(model, segments);
    } catch {
      plan = { input: -1, output: -1, steps: [], starts: [0], boundaries: [-1] };
    }
    byCount.set(segments, plan);
  }
  return plan;
}

/**
 * `tf.variableGrads(() => loss(model.apply(input, { training: true })), vars)` with gradient
 * checkpointing: the loss and the gradient of each variable it depends on, by name; about
 * one more forward pass of time, and the memory of one segment instead of the whole model.
 * `loss` may also read variables directly (weight decay). The caller disposes the results.
 */
export function checkpointedVariableGrads(
  model: tf.LayersModel,
  input: tf.Tensor,
  loss: (out: tf.Tensor) => tf.Scalar,
  vars: readonly tf.Variable[],
  opts: { segments?: number } = {},
): { value: tf.Scalar; grads: tf.NamedTensorMap; segments: number } {
  const xs = vars.filter((v) => v.trainable);
  const plan = planFor(model, opts.segments);
  const n = plan.starts.length;
  const boundary: tf.Tensor[] = [input];
  const sums = new Map<number, tf.Tensor>();
  const add = (i: number, g: tf.Tensor | undefined): void => {
    if (g === undefined) return;
    const before = sums.get(i);
    sums.set(i, before ? tf.add(before, g) : g);
    if (before) tf.dispose([before, g]);
  };
  let value: tf.Tensor | undefined;
  try {
    for (let s = 0; s < n - 1; s++) boundary.push(tf.tidy(() => runSegment(plan, s, boundary[s]!)));
    const head = frugalGradients(
      () =>
        loss(
          n > 1
            ? runSegment(plan, n - 1, boundary[n - 1]!)
            : (model.apply(input, { training: true }) as tf.Tensor),
        ),
      n > 1 ? [boundary[n - 1]!, ...xs] : xs,
    );
    value = head.value;
    // With one segment there is no boundary to differentiate: the data needs no gradient.
    let dy = n > 1 ? head.grads[0] : undefined;
    head.grads.slice(n > 1 ? 1 : 0).forEach((g, i) => add(i, g));
    for (let s = n - 2; s >= 0 && dy !== undefined; s--) {
      const from = boundary[s]!;
      const undo = sideEffectsOf(plan, s);
      const seg = frugalGradients(() => runSegment(plan, s, from), s > 0 ? [from, ...xs] : xs, dy);
      undo();
      tf.dispose([seg.value, dy, boundary[s + 1]!]);
      dy = s > 0 ? seg.grads[0] : undefined;
      seg.grads.slice(s > 0 ? 1 : 0).forEach((g, i) => add(i, g));
    }
    if (dy !== undefined) dy.dispose();
  } catch (e) {
    tf.dispose([...boundary.slice(1), ...sums.values(), ...(value ? [value] : [])]);
    throw e;
  }
  tf.dispose(boundary.slice(1));
  const grads: tf.NamedTensorMap = {};
  xs.forEach((x, i) => {
    const g = sums.get(i);
    if (g !== undefined) grads[x.name] = g;
  });
  if (value!.rank !== 0) {
    tf.dispose([value!, ...Object.values(grads)]);
    throw new Error("checkpointedVariableGrads: the loss must be a scalar");
  }
  return { value: value! as tf.Scalar, grads, segments: n };
}

/** Snapshots the non-trainable state of segment s's layers; the result restores it. */
function sideEffectsOf(plan: Plan, s: number): () => void {
  const end = plan.starts[s + 1] ?? plan.steps.length;
  const saved: [tf.Variable, tf.Tensor][] = [];
  for (let i = plan.starts[s]!; i < end; i++) {
    for (const w of plan.steps[i]!.layer.nonTrainableWeights) {
      const v = w.read() as tf.Variable;
      saved.push([v, tf.keep(tf.clone(v))]);
    }
  }
  return () => {
    for (const [v, t] of saved) {
      v.assign(t);
      t.dispose();
    }
  };
}

/**
 * Whether training `graph` at `batch` should checkpoint: when the estimate of what a plain
 * training step holds (activationBytes, on the high side) exceeds the memory budget (the
 * machine's, and on wasm its 4 GiB heap). Xception at 299x299 and batch 8 does; mini_xception
 * at batch 32 does not, and keeps the faster plain step.
 */
export function trainingNeedsCheckpoints(
  graph: IRGraph,
  batch: number,
  budget: number = memoryBudget(),
): boolean {
  return activationBytes(graph, batch, "train") > budget;
}
