import * as tf from "@tensorflow/tfjs";
import type { IRGraph } from "../../language/ir/types.js";
import {
  backpropagate,
  disposeTape,
  frugalGradients,
  recordTape,
  type Taped,
} from "./gradients.js";
import { memoryBudget } from "./grouped/index.js";
import { activationBytes, copiesHeld, paramCopiesHeld } from "./model.js";

// Why: a training step keeps, for the backward pass, several tensors the size of
// every layer's output. Xception at 299x299 and batch 8 needs far more than the
// wasm backend's 4 GiB heap that way, even with the frugal backward pass
// (gradients.ts), so the step could not run at all. Gradient checkpointing trades
// recomputation for that memory: the model is cut into segments where a single
// tensor flows from one to the next; the forward pass keeps only the boundary
// tensors of the segments chosen for recomputation, and the backward pass recomputes
// each of them, under the tape, and backpropagates through it before moving to the
// one before. Recomputing every segment costs about one more forward pass whatever
// the budget's shortfall, so only as many segments are recomputed as the memory
// budget requires (chooseRecomputed); the others are taped in the forward pass as in
// a plain step. The gradients are the same as without checkpointing (the same kernels
// on the same values); side effects of a training forward pass (batch norm's moving
// averages) are undone after each recomputation so they happen once, as before.

interface Step {
  readonly layer: tf.layers.Layer;
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
}

export interface Plan {
  readonly input: number;
  readonly output: number;
  readonly steps: readonly Step[];
  /** Segment i runs steps [starts[i], starts[i+1]); it reads boundaries[i], yields boundaries[i+1]. */
  readonly starts: readonly number[];
  readonly boundaries: readonly number[];
  /** Per example: bytes a taped segment holds for the backward pass (activationBytes' factors). */
  readonly segmentBytes: readonly number[];
  /** Per example: bytes of the tensor each segment hands to the next (boundaries[i + 1]). */
  readonly boundaryBytes: readonly number[];
  /** Per example: a forward pass of each segment in multiply-accumulates (plus one per output). */
  readonly segmentCost: readonly number[];
  /** Bytes of the weights, their gradients and two optimizer slots. */
  readonly weightBytes: number;
}

/** A layer whose training forward pass is random (it would not recompute the same values). */
const stochastic = (layer: tf.layers.Layer): boolean => /dropout|noise/i.test(layer.getClassName());

const elements = (shape: readonly (number | null)[]): number =>
  shape.reduce((p: number, d) => p * (d ?? 1), 1);

/** Per example: what the step holds for a layer and what running it costs. */
function layerEstimate(layer: tf.layers.Layer): { bytes: number; cost: number } {
  const outs = layer.inboundNodes[0]!.outputTensors;
  const size = outs.reduce((a, t) => a + elements(t.shape), 0);
  const batchNorm = /batchnorm/i.test(layer.getClassName());
  // Multiply-accumulates per output element: the kernels' sizes over the output channels
  // (k*k*cin for a convolution, k*k for a depthwise one, both summed for a separable one,
  // k*k*cin/groups for a grouped one, the inputs for a dense layer); 1 for an elementwise layer.
  const channels = outs[0]?.shape[outs[0].shape.length - 1] ?? 1;
  const weights = layer.trainableWeights.filter((w) => w.shape.length >= 2);
  const perOutput = weights.reduce((a, w) => a + elements(w.shape), 0) / (channels || 1);
  return { bytes: 4 * size * copiesHeld(batchNorm, "train"), cost: size * (1 + perOutput) };
}

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
    steps[i]!.layer.inboundNodes[0]!.outputTensors.reduce((a, t) => a + elements(t.shape), 0);
  const total = steps.reduce((a, _, i) => a + size(i), 0);
  const wanted = segments ?? Math.max(1, Math.round(Math.sqrt(steps.length)));
  const firstRandom = steps.findIndex((s) => stochastic(s.layer));
  const lastCut = firstRandom < 0 ? steps.length - 1 : firstRandom;
  const starts = [0];
  const boundaries = [input];
  const boundaryBytes: number[] = [];
  const live = new Set([input]);
  let acc = 0;
  for (let i = 0; i < steps.length - 1; i++) {
    for (const id of steps[i]!.outputs) live.add(id);
    for (const id of [...live]) if ((lastUse.get(id) ?? -1) <= i) live.delete(id);
    acc += size(i);
    if (i + 1 < lastCut && live.size === 1 && acc >= total / wanted) {
      const id = [...live][0]!;
      const k = steps[i]!.outputs.indexOf(id);
      const shape = k >= 0 ? steps[i]!.layer.inboundNodes[0]!.outputTensors[k]!.shape : [];
      starts.push(i + 1);
      boundaries.push(id);
      boundaryBytes.push(4 * elements(shape));
      acc = 0;
    }
  }
  const segmentBytes = starts.map(() => 0);
  const segmentCost = starts.map(() => 0);
  let s = 0;
  steps.forEach((step, i) => {
    if (s + 1 < starts.length && i >= starts[s + 1]!) s++;
    const e = layerEstimate(step.layer);
    segmentBytes[s]! += e.bytes;
    segmentCost[s]! += e.cost;
  });
  const weightBytes = 4 * model.countParams() * paramCopiesHeld("train");
  return {
    input,
    output,
    steps,
    starts,
    boundaries,
    segmentBytes,
    boundaryBytes,
    segmentCost,
    weightBytes,
  };
}

/** Which segments a step recomputes, and what the plan estimates for it. */
export interface Recomputation {
  /** One per segment; the last is never recomputed. */
  readonly recompute: readonly boolean[];
  /** Estimated peak bytes of a step with this choice, and with every segment kept (a plain step). */
  readonly peakBytes: number;
  readonly plainBytes: number;
  /** The recomputed segments' share of a forward pass's cost (0: none; today's plan: most). */
  readonly recomputedShare: number;
}

/**
 * The estimated peak of a step at `batch` that recomputes the segments marked: the weights,
 * the boundaries handed between recomputed segments, and the larger of two moments: the
 * forward pass's end, when every kept segment's tape is held, and each recomputed segment's
 * backward pass, when it is taped again alongside the kept segments before it (those after
 * it are done and freed).
 */
export function estimatePeak(plan: Plan, batch: number, recompute: readonly boolean[]): number {
  let kept = 0;
  let worst = 0;
  let boundaries = 0;
  plan.segmentBytes.forEach((bytes, s) => {
    if (recompute[s]) {
      worst = Math.max(worst, kept + bytes);
      boundaries += plan.boundaryBytes[s] ?? 0;
    } else kept += bytes;
  });
  return plan.weightBytes + batch * (boundaries + Math.max(worst, kept));
}

/**
 * Chooses the segments to recompute at `batch` so that the estimated peak fits in `budget`:
 * none where a plain step fits; otherwise, greedily, the segment that lowers the peak most per
 * unit of recomputation (a segment at high resolution with few channels frees many bytes for
 * few multiply-accumulates), until the estimate fits. Where even recomputing every segment but
 * the last does not fit, that is the plan (the least memory there is, as before). Greedy
 * rather than exact: the choice is a knapsack, and with about sqrt(layers) segments of similar
 * size, taking the best ratio first is within one segment's cost of the optimum.
 */
export function chooseRecomputed(plan: Plan, batch: number, budget: number): Recomputation {
  const n = plan.starts.length;
  const recompute = plan.starts.map(() => false);
  const plainBytes = estimatePeak(plan, batch, recompute);
  const all = recompute.map((_, s) => s < n - 1);
  const total = plan.segmentCost.reduce((a, b) => a + b, 0) || 1;
  const share = (r: readonly boolean[]) =>
    r.reduce((a, on, s) => a + (on ? plan.segmentCost[s]! : 0), 0) / total;
  const result = (r: boolean[]): Recomputation => ({
    recompute: r,
    peakBytes: estimatePeak(plan, batch, r),
    plainBytes,
    recomputedShare: share(r),
  });
  if (plainBytes <= budget) return result(recompute);
  if (estimatePeak(plan, batch, all) > budget) return result(all);
  let peak = plainBytes;
  while (peak > budget) {
    let best = -1;
    let bestScore = Infinity;
    let bestPeak = peak;
    for (let s = 0; s < n - 1; s++) {
      if (recompute[s]) continue;
      recompute[s] = true;
      const p = estimatePeak(plan, batch, recompute);
      recompute[s] = false;
      // Per byte of peak saved; a segment that saves nothing yet (the peak lies elsewhere)
      // ranks after every one that does, by its cost per byte held.
      const saved = peak - p;
      const score =
        saved > 0
          ? plan.segmentCost[s]! / saved
          : 1e30 + plan.segmentCost[s]! / (plan.segmentBytes[s]! || 1);
      if (score < bestScore) [best, bestScore, bestPeak] = [s, score, p];
    }
    if (best < 0) break; // unreachable: recomputing all fits
    recompute[best] = true;
    peak = bestPeak;
  }
  return result(recompute);
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
export function planFor(model: tf.LayersModel, segments?: number): Plan {
  let byCount = plans.get(model);
  if (!byCount) plans.set(model, (byCount = new Map()));
  let plan = byCount.get(segments);
  if (!plan) {
    try {
      plan = planCheckpoints(model, segments);
    } catch {
      plan = {
        input: -1,
        output: -1,
        steps: [],
        starts: [0],
        boundaries: [-1],
        segmentBytes: [0],
        boundaryBytes: [],
        segmentCost: [0],
        weightBytes: 0,
      };
    }
    byCount.set(segments, plan);
  }
  return plan;
}

/**
 * `tf.variableGrads(() => loss(model.apply(input, { training: true })), vars)` with gradient
 * checkpointing: the loss and the gradient of each variable it depends on, by name. Segments
 * are recomputed only as far as `budget` (bytes; default memoryBudget()) requires: none where
 * a plain step fits, every one but the last (about one more forward pass) where only that
 * fits. `loss` may also read variables directly (weight decay). The caller disposes the
 * results; `recomputed` lists the segments recomputed.
 */
export function checkpointedVariableGrads(
  model: tf.LayersModel,
  input: tf.Tensor,
  loss: (out: tf.Tensor) => tf.Scalar,
  vars: readonly tf.Variable[],
  opts: { segments?: number; budget?: number } = {},
): { value: tf.Scalar; grads: tf.NamedTensorMap; segments: number; recomputed: number[] } {
  const xs = vars.filter((v) => v.trainable);
  const plan = planFor(model, opts.segments);
  const n = plan.starts.length;
  const { recompute } = chooseRecomputed(plan, input.shape[0] ?? 1, opts.budget ?? memoryBudget());
  const boundary: tf.Tensor[] = [input];
  // A kept segment's forward pass, taped as in a plain step, for its backward pass later.
  const tapes: (Taped | undefined)[] = [];
  const sums = new Map<number, tf.Tensor>();
  const add = (i: number, g: tf.Tensor | undefined): void => {
    if (g === undefined) return;
    const before = sums.get(i);
    sums.set(i, before ? tf.add(before, g) : g);
    if (before) tf.dispose([before, g]);
  };
  let value: tf.Tensor | undefined;
  try {
    for (let s = 0; s < n - 1; s++) {
      const from = boundary[s]!;
      if (recompute[s]) boundary.push(tf.tidy(() => runSegment(plan, s, from)));
      else {
        tapes[s] = recordTape(() => runSegment(plan, s, from));
        boundary.push(tapes[s]!.value);
      }
    }
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
    for (let s = n - 2; s >= 0; s--) {
      const from = boundary[s]!;
      const wrt = s > 0 ? [from, ...xs] : xs;
      let grads: (tf.Tensor | undefined)[];
      if (dy === undefined) {
        // Nothing before flows into the loss: a kept segment's tape is only freed.
        if (tapes[s]) disposeTape(tapes[s]!.tape);
        tapes[s] = undefined;
        continue;
      }
      if (tapes[s]) {
        grads = backpropagate(tapes[s]!, wrt, dy);
        tapes[s] = undefined;
        tf.dispose(dy);
      } else {
        const undo = sideEffectsOf(plan, s);
        const seg = frugalGradients(() => runSegment(plan, s, from), wrt, dy);
        undo();
        tf.dispose([seg.value, dy]);
        grads = seg.grads;
      }
      tf.dispose(boundary[s + 1]!);
      dy = s > 0 ? grads[0] : undefined;
      grads.slice(s > 0 ? 1 : 0).forEach((g, i) => add(i, g));
    }
    if (dy !== undefined) dy.dispose();
  } catch (e) {
    for (const t of tapes) if (t) disposeTape(t.tape);
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
  const recomputed = recompute.flatMap((on, s) => (on ? [s] : []));
  return { value: value! as tf.Scalar, grads, segments: n, recomputed };
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
