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
import { activationBytes, paramCopiesHeld } from "./model.js";

// Why: a training step keeps, for the backward pass, several tensors the size of
// every layer's output. Xception at 299x299 and batch 8 needs far more than the
// wasm backend's 4 GiB heap that way, even with the frugal backward pass
// (gradients.ts), so the step could not run at all. Gradient checkpointing trades
// recomputation for that memory: the model is cut into segments where few tensors
// flow from one to the next (one between residual blocks; inside a block, the
// branch's input and the main path's tensor); the forward pass keeps only the boundary
// tensors of the segments chosen for recomputation, and the backward pass recomputes
// each of them, under the tape, and backpropagates through it before moving to the
// one before. Cutting inside blocks matters: Xception's first residual block at
// 299x299 holds more than a third of the wasm heap on its own at batch 8. Recomputing every segment costs about one more forward pass whatever
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
  /**
   * Segment i runs steps [starts[i], starts[i+1]); it reads the tensors boundaries[i] and
   * yields boundaries[i+1]: every tensor made before the cut that a later step reads (a
   * tensor may pass through a segment that does not read it, to a later one).
   */
  readonly starts: readonly number[];
  readonly boundaries: readonly (readonly number[])[];
  /** Per example: bytes a taped segment holds for the backward pass (heldFactor per layer). */
  readonly segmentBytes: readonly number[];
  /** Per example: bytes the segment's backward pass adds while it runs (gradients in flight). */
  readonly segmentExtra: readonly number[];
  /** Per example: bytes of the boundary tensors each segment makes (in boundaries[i + 1], not boundaries[i]). */
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

/**
 * How many tensors the size of a layer's output a taped layer holds until its gradient runs,
 * with the frugal backward pass (gradients.ts), as measured on wasm (Xception 75x75, batch 8,
 * each layer taped on its own: the bytes it added, over its output's): 1.00 for a convolution,
 * an activation, max pooling, an add, global pooling; 1.00-1.13 for batch norm (its moments);
 * 4 for dropout (its mask and scaled copies); a separable convolution also holds its depthwise
 * result (counted apart, exactly). activationBytes' factors (4.5, 12 for batch norm) are tfjs'
 * variableGrads', which keeps every gradient to the end: 4-7 times what a taped segment held.
 * A layer not measured counts twice, to stay on the safe side.
 */
function heldFactor(layer: tf.layers.Layer): number {
  const name = layer.getClassName();
  if (
    /^(Conv2D|SeparableConv2D|DepthwiseConv2D|Activation|ReLU|MaxPooling2D|Add|GlobalAveragePooling2D|Flatten|Reshape)$/.test(
      name,
    )
  )
    return 1;
  if (name === "BatchNormalization") return 1.15;
  if (stochastic(layer)) return 4;
  return 2;
}

/** Per example: what a taped layer holds, its largest single tensor, and what running it costs. */
function layerEstimate(layer: tf.layers.Layer): { bytes: number; largest: number; cost: number } {
  const node = layer.inboundNodes[0]!;
  const outs = node.outputTensors;
  const size = outs.reduce((a, t) => a + elements(t.shape), 0);
  // Multiply-accumulates per output element: the kernels' sizes over the output channels
  // (k*k*cin for a convolution, k*k for a depthwise one, both summed for a separable one,
  // k*k*cin/groups for a grouped one, the inputs for a dense layer); 1 for an elementwise layer.
  const channels = outs[0]?.shape[outs[0].shape.length - 1] ?? 1;
  const weights = layer.trainableWeights.filter((w) => w.shape.length >= 2);
  const perOutput = weights.reduce((a, w) => a + elements(w.shape), 0) / (channels || 1);
  // A separable convolution's depthwise result: input channels times the depth multiplier
  // at the output's positions.
  let inner = 0;
  if (layer.getClassName() === "SeparableConv2D") {
    const cin = node.inputTensors[0]!.shape[node.inputTensors[0]!.shape.length - 1] ?? 1;
    const multiplier = Number(
      (layer.getConfig() as { depthMultiplier?: number }).depthMultiplier ?? 1,
    );
    inner = (size / (channels || 1)) * cin * multiplier;
  }
  return {
    bytes: 4 * (size * heldFactor(layer) + inner),
    largest: 4 * Math.max(...outs.map((t) => elements(t.shape)), inner),
    cost: size * (1 + perOutput),
  };
}

/**
 * The model's layers in the order its apply() runs them (tfjs-layers' executor: a depth-first
 * topological sort from the output, each tensor's inputs pushed in order, so the last input's
 * branch runs first), not model.layers' order, which differs among branches: a tensor read by
 * several branches sums its gradients in the tape's order, so the same order gives the same
 * bits as a plain step.
 */
function executionOrder(model: tf.LayersModel): tf.layers.Layer[] {
  const visited = new Set<string>(model.inputs.map((t) => t.name));
  const sorted: tf.SymbolicTensor[] = [];
  const stack: tf.SymbolicTensor[] = [model.outputs[0]!];
  const marks: number[] = [];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (visited.has(top.name)) {
      stack.pop();
      continue;
    }
    const marked = marks[marks.length - 1] === stack.length - 1;
    if (top.inputs.length === 0 || marked) {
      stack.pop();
      sorted.push(top);
      visited.add(top.name);
      if (marked) marks.pop();
    } else {
      marks.push(stack.length - 1);
      for (const input of top.inputs) if (!visited.has(input.name)) stack.push(input);
    }
  }
  // A layer the output does not depend on is not run by apply() either.
  const layers: tf.layers.Layer[] = [];
  for (const t of sorted) if (!layers.includes(t.sourceLayer)) layers.push(t.sourceLayer);
  return layers;
}

/**
 * Cuts a single-input, single-output functional model into about `segments` segments with
 * about equal activation sizes, each ending where the tensors still to be read are few: one
 * tensor, or a set no larger than half of what the segment made (inside a residual block: its
 * input and the main path's tensor). The random layers (dropout) all stay in the last segment,
 * which is never recomputed.
 */
export function planCheckpoints(model: tf.LayersModel, segments?: number): Plan {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error("checkpointing needs a model with one input and one output");
  }
  const steps: Step[] = [];
  const shapes = new Map<number, readonly (number | null)[]>([
    [model.inputs[0]!.id, model.inputs[0]!.shape],
  ]);
  for (const layer of executionOrder(model)) {
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
    for (const t of node.outputTensors) shapes.set(t.id, t.shape);
  }
  const input = model.inputs[0]!.id;
  const output = model.outputs[0]!.id;
  const lastUse = new Map<number, number>([[output, steps.length]]);
  steps.forEach((s, i) => s.inputs.forEach((id) => lastUse.set(id, i)));
  const sizeOf = (ids: Iterable<number>): number => {
    let a = 0;
    for (const id of ids) a += elements(shapes.get(id) ?? []);
    return a;
  };
  const size = (i: number): number => sizeOf(steps[i]!.outputs);
  const total = steps.reduce((a, _, i) => a + size(i), 0);
  const wanted = segments ?? Math.max(1, Math.round(Math.sqrt(steps.length)));
  const firstRandom = steps.findIndex((s) => stochastic(s.layer));
  const lastCut = firstRandom < 0 ? steps.length - 1 : firstRandom;
  const starts = [0];
  const boundaries: number[][] = [[input]];
  const boundaryBytes: number[] = [];
  const live = new Set([input]);
  let acc = 0;
  for (let i = 0; i < steps.length - 1; i++) {
    for (const id of steps[i]!.outputs) live.add(id);
    for (const id of [...live]) if ((lastUse.get(id) ?? -1) <= i) live.delete(id);
    acc += size(i);
    if (i + 1 < lastCut && acc >= total / wanted && (live.size === 1 || sizeOf(live) <= acc / 2)) {
      const ids = [...live].sort((a, b) => a - b);
      const before = new Set(boundaries[boundaries.length - 1]);
      starts.push(i + 1);
      boundaries.push(ids);
      boundaryBytes.push(4 * sizeOf(ids.filter((id) => !before.has(id))));
      acc = 0;
    }
  }
  const segmentBytes = starts.map(() => 0);
  const segmentExtra = starts.map(() => 0);
  const segmentCost = starts.map(() => 0);
  let s = 0;
  steps.forEach((step, i) => {
    if (s + 1 < starts.length && i >= starts[s + 1]!) s++;
    const e = layerEstimate(step.layer);
    segmentBytes[s]! += e.bytes;
    // A backward pass holds, besides the tape, the gradient coming in, the one going out and
    // a kernel's partial result: measured 1.9-2.9 times the segment's largest tensor (Xception
    // 150x150, batch 8, wasm), so 3.
    segmentExtra[s] = Math.max(segmentExtra[s]!, 3 * e.largest);
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
    segmentExtra,
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
 * What wasm's heap grew to over the live bytes estimatePeak sums (the allocator's
 * fragmentation and the kernels' scratch), measured on Xception at batch 8 (heap after two
 * steps, tfjs' wasm backend; docs/PERFORMANCE.md): 0.99 at 299x299 with nothing recomputed,
 * 1.36 with everything but the last segment recomputed; 1.08-1.28 at 150x150. 1.25 with the
 * budget's own 15% below the 4 GiB heap (memoryBudget) leaves 1.47 before an abort, above
 * every ratio measured.
 */
export const heapOverLive = 1.25;

/**
 * The estimated peak of a step at `batch` that recomputes the segments marked: the weights,
 * the boundaries handed between recomputed segments, and the largest of each segment's
 * backward pass: its tape (taped again where recomputed) and the gradients in flight, beside
 * the kept segments' tapes before it (those after it are done and freed). The live bytes are
 * scaled by heapOverLive, what wasm's heap grew to over them (the allocator's fragmentation
 * and the kernels' scratch), so that the estimate is of the heap.
 */
export function estimatePeak(plan: Plan, batch: number, recompute: readonly boolean[]): number {
  let kept = 0;
  let worst = 0;
  let boundaries = 0;
  plan.segmentBytes.forEach((bytes, s) => {
    const extra = plan.segmentExtra[s] ?? 0;
    if (recompute[s]) {
      worst = Math.max(worst, kept + bytes + extra);
      boundaries += plan.boundaryBytes[s] ?? 0;
    } else {
      kept += bytes;
      worst = Math.max(worst, kept + extra);
    }
  });
  return heapOverLive * (plan.weightBytes + batch * (boundaries + worst));
}

/**
 * Chooses the segments to recompute at `batch` so that the estimated peak fits in `budget`
 * at the least recomputation (multiply-accumulates): none where a plain step fits; where even
 * recomputing every segment but the last does not fit, that (the least memory there is).
 * Otherwise the cheapest set that fits: the choice is a knapsack whose weights interact (a
 * segment's recomputation peak counts the kept segments before it), so greedy by cost per
 * byte saved can recompute a segment more than needed; a branch and bound over the segments
 * in order, starting from the greedy choice as the bound to beat, finds the least. The
 * partial peak only grows as segments are added, so both bounds prune early; past
 * `exactUpTo` segments the greedy choice stands.
 */
export function chooseRecomputed(
  plan: Plan,
  batch: number,
  budget: number,
  exactUpTo = 24,
): Recomputation {
  const n = plan.starts.length;
  const recompute = plan.starts.map(() => false);
  const plainBytes = estimatePeak(plan, batch, recompute);
  const all = recompute.map((_, s) => s < n - 1);
  const total = plan.segmentCost.reduce((a, b) => a + b, 0) || 1;
  const costOf = (r: readonly boolean[]) =>
    r.reduce((a, on, s) => a + (on ? plan.segmentCost[s]! : 0), 0);
  const result = (r: boolean[]): Recomputation => ({
    recompute: r,
    peakBytes: estimatePeak(plan, batch, r),
    plainBytes,
    recomputedShare: costOf(r) / total,
  });
  if (plainBytes <= budget) return result(recompute);
  if (estimatePeak(plan, batch, all) > budget) return result(all);
  const greedy = greedyRecomputed(plan, batch, budget, recompute);
  if (n - 1 > exactUpTo) return result(greedy);
  let best = greedy;
  let bestCost = costOf(greedy);
  const bytes = plan.segmentBytes.map((b) => batch * b);
  const extra = plan.segmentBytes.map((_, s) => batch * (plan.segmentExtra[s] ?? 0));
  const edges = plan.segmentBytes.map((_, s) => batch * (plan.boundaryBytes[s] ?? 0));
  const room = budget / heapOverLive - plan.weightBytes;
  const chosen = plan.starts.map(() => false);
  // estimatePeak's sums, segment by segment: each only grows, so a partial peak over the
  // room already rules out every way of going on.
  const visit = (s: number, kept: number, worst: number, held: number, cost: number): void => {
    if (cost >= bestCost || held + worst > room) return;
    const top = kept + bytes[s]! + extra[s]!;
    if (s === n - 1) {
      if (held + Math.max(worst, top) <= room) {
        best = [...chosen];
        bestCost = cost;
      }
      return;
    }
    // Keeping it first: no recomputation, the bound to beat falls fastest.
    visit(s + 1, kept + bytes[s]!, Math.max(worst, top), held, cost);
    chosen[s] = true;
    visit(s + 1, kept, Math.max(worst, top), held + edges[s]!, cost + plan.segmentCost[s]!);
    chosen[s] = false;
  };
  visit(0, 0, 0, 0, 0);
  // The search divides the budget where estimatePeak multiplies: where rounding tips the
  // sums, the greedy choice (checked by estimatePeak itself) stands.
  return result(estimatePeak(plan, batch, best) <= budget ? best : greedy);
}

/** Greedily, the segment that lowers the estimated peak most per unit of recomputation, until it fits. */
function greedyRecomputed(
  plan: Plan,
  batch: number,
  budget: number,
  start: readonly boolean[],
): boolean[] {
  const n = plan.starts.length;
  const recompute = [...start];
  let peak = estimatePeak(plan, batch, recompute);
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
    if (best < 0) break; // every segment but the last: the caller checked that it fits
    recompute[best] = true;
    peak = bestPeak;
  }
  return recompute;
}

/** The tensors segment s makes for later ones (boundaries[s + 1] less what passes through it). */
function made(plan: Plan, s: number): number[] {
  if (s + 1 >= plan.starts.length) return [plan.output];
  const before = new Set(plan.boundaries[s]);
  return plan.boundaries[s + 1]!.filter((id) => !before.has(id));
}

/** Runs segment s on its boundary tensors (by id): the tensors it makes (made()), in order. */
function runSegment(plan: Plan, s: number, held: ReadonlyMap<number, tf.Tensor>): tf.Tensor[] {
  const values = new Map<number, tf.Tensor>();
  for (const id of plan.boundaries[s]!) values.set(id, held.get(id)!);
  const end = plan.starts[s + 1] ?? plan.steps.length;
  for (let i = plan.starts[s]!; i < end; i++) {
    const step = plan.steps[i]!;
    const ins = step.inputs.map((id) => values.get(id)!);
    const out = step.layer.apply(ins.length === 1 ? ins[0]! : ins, { training: true });
    const outs = Array.isArray(out) ? out : [out];
    step.outputs.forEach((id, k) => values.set(id, outs[k] as tf.Tensor));
  }
  return made(plan, s).map((id) => values.get(id)!);
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
        boundaries: [[-1]],
        segmentBytes: [0],
        segmentExtra: [0],
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
  // The boundary tensors alive now, by id; the data is the caller's and never disposed here.
  const held = new Map<number, tf.Tensor>([[plan.input, input]]);
  // A kept segment's forward pass, taped as in a plain step, for its backward pass later.
  const tapes: (Taped<tf.Tensor[]> | undefined)[] = [];
  // The gradient of the loss with respect to each boundary tensor, summed over its readers.
  const dys = new Map<number, tf.Tensor>();
  const sums = new Map<number, tf.Tensor>();
  const sum = (into: Map<number, tf.Tensor>, i: number, g: tf.Tensor | undefined): void => {
    if (g === undefined) return;
    const before = into.get(i);
    into.set(i, before ? tf.add(before, g) : g);
    if (before) tf.dispose([before, g]);
  };
  // The boundary tensors a segment reads that may carry a gradient (never the data).
  const readers = (s: number): number[] => plan.boundaries[s]!.filter((id) => id !== plan.input);
  let value: tf.Tensor | undefined;
  try {
    for (let s = 0; s < n - 1; s++) {
      const ids = made(plan, s);
      let outs: tf.Tensor[];
      if (recompute[s]) outs = tf.tidy(() => runSegment(plan, s, held));
      else {
        tapes[s] = recordTape(() => runSegment(plan, s, held));
        outs = tapes[s]!.value;
      }
      ids.forEach((id, k) => held.set(id, outs[k]!));
    }
    const last = n > 1 ? readers(n - 1) : [];
    const head = frugalGradients(
      () =>
        loss(
          n > 1
            ? runSegment(plan, n - 1, held)[0]!
            : (model.apply(input, { training: true }) as tf.Tensor),
        ),
      [...last.map((id) => held.get(id)!), ...xs],
    );
    value = head.value;
    last.forEach((id, k) => sum(dys, id, head.grads[k]));
    head.grads.slice(last.length).forEach((g, i) => sum(sums, i, g));
    for (let s = n - 2; s >= 0; s--) {
      const ids = made(plan, s);
      const dy = ids.map((id) => dys.get(id));
      const from = readers(s);
      const wrt = [...from.map((id) => held.get(id)!), ...xs];
      // A tensor read here and by later segments (passing through) already has their
      // gradient: it starts this segment's sum for it, as tfjs' tape starts a tensor's sum
      // with its last reader's, so the sums are added in the same order (identical results).
      const seeded = from.filter((id) => dys.has(id));
      const seeds = seeded.map((id) => held.get(id)!);
      const dyAll = [...dy, ...seeded.map((id) => dys.get(id))];
      let grads: (tf.Tensor | undefined)[] = [];
      if (dy.every((d) => d === undefined)) {
        // Nothing this segment makes flows into the loss: a kept segment's tape is only freed.
        if (tapes[s]) disposeTape(tapes[s]!.tape);
      } else if (tapes[s]) {
        grads = backpropagate({ ...tapes[s]!, value: [...tapes[s]!.value, ...seeds] }, wrt, dyAll);
      } else {
        const undo = sideEffectsOf(plan, s);
        const seg = frugalGradients(() => [...runSegment(plan, s, held), ...seeds], wrt, dyAll);
        undo();
        tf.dispose(seg.value.slice(0, ids.length));
        grads = seg.grads;
      }
      tapes[s] = undefined;
      // What this segment made is used up; what passes through it stays for the segments before.
      for (const id of ids) {
        tf.dispose([held.get(id)!, ...(dys.has(id) ? [dys.get(id)!] : [])]);
        held.delete(id);
        dys.delete(id);
      }
      from.forEach((id, k) => {
        // A seeded sum already holds the later readers' part: it replaces it.
        if (grads[k] !== undefined && seeded.includes(id)) {
          dys.get(id)!.dispose();
          dys.delete(id);
        }
        sum(dys, id, grads[k]);
      });
      grads.slice(from.length).forEach((g, i) => sum(sums, i, g));
    }
    tf.dispose([...dys.values()]);
    dys.clear();
  } catch (e) {
    for (const t of tapes) if (t) disposeTape(t.tape);
    held.delete(plan.input);
    tf.dispose([...held.values(), ...dys.values(), ...sums.values(), ...(value ? [value] : [])]);
    throw e;
  }
  held.delete(plan.input);
  tf.dispose([...held.values()]);
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
