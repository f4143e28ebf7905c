import * as tf from "@tensorflow/tfjs";

// Why: tfjs' own variableGrads keeps every gradient it computes (one per input of
// every op on the tape) and every tensor the forward pass saved for the backward
// one until the whole backward pass ends, so a training step's peak memory is
// about twice the forward activations. Xception at 299x299 needs about 2 GiB per
// image that way, and the wasm backend's heap stops at 4 GiB: batch 8 could never
// run (docs/PERFORMANCE.md). This is the same backward pass (the engine's tape,
// each op's registered gradient, the same order and sums) that frees a gradient
// as soon as the op that produced its tensor has consumed it, and an op's saved
// tensors as soon as its gradient has run, so memory falls as the pass proceeds.

/** The parts of tfjs' engine and tape this uses (stable across tfjs 3 and 4). */
export interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
  saved?: tf.Tensor[];
}
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(name: string, f: () => T): T;
}

/** The nodes on paths from xs to any of ys, inputs not depending on xs pruned (tfjs' own rule). */
function nodesFromXsToY(
  tape: readonly TapeNode[],
  xs: readonly tf.Tensor[],
  ys: readonly tf.Tensor[],
) {
  const fromX = new Set(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromX.has(t.id))) {
      for (const o of node.outputs) fromX.add(o.id);
      nodesFromX.add(node.id);
    }
  }
  const toY = new Set(ys.map((y) => y.id));
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (node.outputs.some((o) => toY.has(o.id))) {
      for (const t of Object.values(node.inputs)) toY.add(t.id);
      nodesToY.add(node.id);
    }
  }
  const kept: TapeNode[] = [];
  for (const node of tape) {
    if (!nodesFromX.has(node.id) || !nodesToY.has(node.id)) continue;
    const inputs: Record<string, tf.Tensor> = {};
    for (const [name, t] of Object.entries(node.inputs)) if (fromX.has(t.id)) inputs[name] = t;
    kept.push({ ...node, inputs });
  }
  return kept;
}

/**
 * A forward pass recorded on the engine's tape, for a backward pass run later (backpropagate):
 * its result, one tensor or several (a checkpointed segment may hand on several live tensors).
 */
export interface Taped<T extends tf.Tensor | tf.Tensor[] = tf.Tensor> {
  readonly value: T;
  readonly tape: readonly TapeNode[];
}

/**
 * Runs `f` under the engine's tape: its result, and the tape that holds what each op saved for
 * its gradient (kept until backpropagate or disposeTape frees it). Several may be recorded and
 * held at once; each is backpropagated on its own.
 */
export function recordTape<T extends tf.Tensor | tf.Tensor[]>(f: () => T): Taped<T> {
  const engine = tf.engine() as unknown as EngineInternals;
  const y = engine.scopedRun(
    () => engine.startTape(),
    () => engine.endTape(),
    () => engine.tidy("forward", f),
  );
  const ys: unknown[] = Array.isArray(y) ? y : [y];
  if (!ys.every((t) => t instanceof tf.Tensor)) {
    throw new Error("frugalGradients: f must return a tensor or an array of tensors");
  }
  const tape = engine.state.activeTape ?? [];
  if (engine.state.gradientDepth === 0) engine.state.activeTape = null;
  return { value: y, tape };
}

/** Frees what a recorded tape's ops saved (a tape that will not be backpropagated). */
export function disposeTape(tape: readonly TapeNode[]): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine.state.gradientDepth > 0) return; // an outer tape still owns the saved tensors
  for (const node of tape) for (const t of node.saved ?? []) if (!t.isDisposed) t.dispose();
}

/**
 * The gradients of a recorded forward pass's result with respect to `xs` (variables or any
 * tensors it read), with `dy` as the gradient of the result (ones when omitted), freeing the
 * tape's saved tensors as it goes and the rest at the end. A gradient is undefined where the
 * result does not depend on that x. Where the result is several tensors, `dy` is one gradient
 * per result, undefined for a result that nothing downstream depends on (it is then not a
 * path to follow). The caller disposes the gradients (and `taped.value`).
 */
export function backpropagate(
  taped: Taped<tf.Tensor | tf.Tensor[]>,
  xs: readonly tf.Tensor[],
  dy?: tf.Tensor | readonly (tf.Tensor | undefined)[],
): (tf.Tensor | undefined)[] {
  const engine = tf.engine() as unknown as EngineInternals;
  const { value, tape } = taped;
  const many = Array.isArray(value);
  const ys = many ? value : [value];
  const dys: readonly (tf.Tensor | undefined)[] = many
    ? (dy as readonly (tf.Tensor | undefined)[])
    : [dy as tf.Tensor | undefined];
  if (many && (!Array.isArray(dy) || dy.length !== ys.length)) {
    throw new Error("backpropagate: several results need one gradient (or undefined) each");
  }
  // A result with no gradient coming in leads nowhere: only the others are followed.
  const seeded = ys.filter((_, i) => !many || dys[i] !== undefined);
  const nested = engine.state.gradientDepth > 0;
  const keep = new Set<number>([...ys.map((y) => y.id), ...xs.map((x) => x.id)]);
  const grads = engine.tidy("backward", () => {
    const filtered = nodesFromXsToY(tape, xs, seeded);
    const acc = new Map<number, tf.Tensor>();
    ys.forEach((y, i) => {
      const d = dys[i];
      if (d !== undefined) acc.set(y.id, tf.clone(d));
      else if (!many) acc.set(y.id, tf.onesLike(y));
    });
    for (let i = filtered.length - 1; i >= 0; i--) {
      const node = filtered[i]!;
      const dys = node.outputs.map((o) => acc.get(o.id) ?? null);
      if (node.gradient === undefined) {
        throw new Error(
          `Cannot compute gradient: gradient function not found for ${node.kernelName}.`,
        );
      }
      const inputGrads = node.gradient(dys);
      for (const [name, x] of Object.entries(node.inputs)) {
        const grad = inputGrads[name];
        if (grad === undefined)
          throw new Error(`Cannot backprop through input ${name} of ${node.kernelName}.`);
        const dx = tf.tidy(grad);
        if (dx.dtype !== "float32" || !tf.util.arraysEqual(dx.shape, x.shape)) {
          throw new Error(
            `Error in gradient for op ${node.kernelName}: input '${name}' got a ${dx.dtype} gradient of shape [${dx.shape}] for shape [${x.shape}]`,
          );
        }
        const before = acc.get(x.id);
        if (before === undefined) acc.set(x.id, dx);
        else {
          acc.set(x.id, tf.add(before, dx));
          before.dispose();
          dx.dispose();
        }
      }
      // Every op that reads an output of this node ran later and is done, so the
      // outputs' gradients are complete and consumed; this op's saved tensors too.
      for (const o of node.outputs) {
        if (keep.has(o.id)) continue;
        acc.get(o.id)?.dispose();
        acc.delete(o.id);
      }
      if (!nested) for (const t of node.saved ?? []) t.dispose();
    }
    // A tidy returns containers of tensors only: the reached ones, by position.
    const out: Record<string, tf.Tensor> = {};
    xs.forEach((x, i) => {
      const g = acc.get(x.id);
      if (g !== undefined) out[i] = g;
    });
    return out;
  });
  disposeTape(tape);
  return xs.map((_, i) => grads[i]);
}

/**
 * The gradients of `f()` with respect to `xs` (variables or any tensors `f` reads), with `dy`
 * as the gradient of its result (ones when omitted): tfjs' `engine.gradients` with the backward
 * pass's memory released as it goes. A gradient is undefined where `f` does not depend on that
 * x. Where `f` returns several tensors, `dy` holds one gradient (or undefined) for each. The
 * caller disposes `value` and the gradients.
 */
export function frugalGradients<T extends tf.Tensor | tf.Tensor[] = tf.Tensor>(
  f: () => T,
  xs: readonly tf.Tensor[],
  dy?: T extends tf.Tensor ? tf.Tensor : readonly (tf.Tensor | undefined)[],
): { value: T; grads: (tf.Tensor | undefined)[] } {
  const taped = recordTape(f);
  try {
    return { value: taped.value, grads: backpropagate(taped, xs, dy) };
  } catch (e) {
    disposeTape(taped.tape);
    tf.dispose(taped.value);
    throw e;
  }
}

/**
 * `tf.variableGrads(f, vars)` with the backward pass's memory released as it goes: the
 * loss `value` and a gradient per variable that the loss depends on, by variable name.
 * Trainable variables only, like tfjs'; the caller disposes the results.
 */
export function frugalVariableGrads(
  f: () => tf.Scalar,
  vars: readonly tf.Variable[],
): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const xs = vars.filter((v) => v.trainable);
  if (xs.length === 0) throw new Error("frugalVariableGrads: no trainable variable given");
  const { value, grads } = frugalGradients(f, xs);
  if (value.rank !== 0) {
    value.dispose();
    tf.dispose(grads.filter((g): g is tf.Tensor => g !== undefined));
    throw new Error("frugalVariableGrads: the function must return a scalar tensor");
  }
  const named: tf.NamedTensorMap = {};
  xs.forEach((x, i) => {
    if (grads[i] !== undefined) named[x.name] = grads[i];
  });
  if (Object.keys(named).length === 0) {
    throw new Error(
      "Cannot find a connection between any variable and the result of the loss function",
    );
  }
  return { value: value as tf.Scalar, grads: named };
}
