import * as tf from "@tensorflow/tfjs";
import { bulkFor, type BulkFns } from "./bulk.js";
import { pooledSimdFor } from "./pooledRows.js";
import { addressOf, simdFor, type SimdFns, type WasmHeap, wasmHeap } from "./simd.js";

// Why: tfjs-layers normalises a training batch with tf.moments and then batchNormalization,
// so a batch norm layer is about a dozen kernels forward, and its backward pass goes
// through Mean's gradient, which builds a ones tensor of the whole input in JS (with
// Sub, Square and Mean's other gradients, a quarter of a mini_xception training step on
// wasm). Here the statistics, the normalisation and the whole gradient are two kernels of
// SIMD passes over the backend's memory (simd.ts), with the textbook formulas: for each
// channel, over its N values, with d = x - mean, r = 1 / sqrt(var + eps), a = gamma * r,
//   y = a d + beta,  var = sum(d^2) / N  (biased, as tf.moments)
//   dbeta = S1 = sum(dy),  dgamma = r S2 with S2 = sum(dy d),
//   dx = a dy - a S1 / N - d a r^2 S2 / N   (+ the terms from dmean, dvar, dr when given).
// Only the wasm backend runs these kernels; other backends keep tfjs-layers' path
// (compiler/backends/tfjs/batchNorm.ts decides). The passes run on the kernel pool's threads
// (pooledRows.ts).

export const BatchNormTraining = "ArchcBatchNormTraining";
export const BatchNormTrainingGrad = "ArchcBatchNormTrainingGrad";

/** A kernel's scratch and per-channel tensors: created on the heap, freed unless returned. */
class Heap {
  private readonly made: tf.TensorInfo[] = [];
  constructor(
    readonly backend: WasmHeap,
    readonly simd: SimdFns,
    readonly bulk: BulkFns,
  ) {}

  tensor(shape: number[], values?: Float32Array): tf.TensorInfo {
    const t = values
      ? this.backend.makeOutput(shape, "float32", undefined, values)
      : this.backend.makeOutput(shape, "float32");
    this.made.push(t);
    return t;
  }

  zeros(shape: number[]): tf.TensorInfo {
    const t = this.tensor(shape);
    this.bulk.fill(this.at(t), 0, 4 * tf.util.sizeFromShape(shape));
    return t;
  }

  /** Views are taken after every allocation: allocating can grow (and replace) the heap. */
  view(t: tf.TensorInfo): Float32Array {
    return this.backend.typedArrayFromHeap(t);
  }

  at(t: tf.TensorInfo): number {
    return addressOf(this.backend, t);
  }

  /** Frees everything made here except `keep`. */
  release(keep: readonly tf.TensorInfo[]): void {
    for (const t of this.made) if (!keep.includes(t)) this.backend.disposeData(t.dataId);
  }
}

function heapFor(backend: tf.KernelBackend): Heap {
  const simd = pooledSimdFor(backend);
  const bulk = bulkFor(backend);
  if (!simd || !bulk) throw new Error(`${BatchNormTraining}: WebAssembly SIMD is not available`);
  return new Heap(wasmHeap(backend), simd, bulk);
}

/** The rows x channels split of an input normalised over every axis but the last. */
function split(x: tf.TensorInfo): { n: number; c: number; rowBytes: number } {
  const c = x.shape[x.shape.length - 1]!;
  const n = tf.util.sizeFromShape(x.shape) / c;
  return { n, c, rowBytes: 4 * c };
}

/** d = x - mean, a scratch tensor the caller frees with the heap. */
function centred(h: Heap, x: tf.TensorInfo, mean: tf.TensorInfo): tf.TensorInfo {
  const { n, c, rowBytes } = split(x);
  const d = h.tensor(x.shape);
  h.bulk.copy(h.at(d), h.at(x), rowBytes * n);
  const negMean = h.tensor(
    [c],
    h.view(mean).map((m) => -m),
  );
  h.simd.sums(h.at(d), h.at(negMean), c, n, rowBytes, 0);
  return d;
}

function forward(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: {};
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo[] {
  const { x, gamma, beta } = args.inputs as Record<"x" | "gamma" | "beta", tf.TensorInfo>;
  const eps = (args.attrs as { epsilon: number }).epsilon;
  const h = heapFor(args.backend as tf.KernelBackend);
  const { n, c, rowBytes } = split(x);
  const mean = h.zeros([c]);
  h.simd.sums(h.at(mean), h.at(x), c, n, 0, rowBytes);
  const m = h.view(mean);
  for (let i = 0; i < c; i++) m[i] = m[i]! / n;
  const d = centred(h, x, mean);
  const variance = h.zeros([c]);
  h.simd.rows(h.at(variance), h.at(d), h.at(d), c, n, 0, rowBytes, rowBytes);
  const v = h.view(variance);
  for (let i = 0; i < c; i++) v[i] = v[i]! / n;
  const r = Float32Array.from(v, (vi) => 1 / Math.sqrt(vi + eps));
  const rstd = h.tensor([c], r);
  const g = h.view(gamma);
  const a = h.tensor(
    [c],
    Float32Array.from(r, (ri, i) => ri * g[i]!),
  );
  const y = h.zeros(x.shape);
  h.simd.sums(h.at(y), h.at(beta), c, n, rowBytes, 0);
  h.simd.rows(h.at(y), h.at(d), h.at(a), c, n, rowBytes, rowBytes, 0);
  h.release([y, mean, variance, rstd]);
  return [y, mean, variance, rstd];
}

function backward(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: {};
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo[] {
  const { dy, dmean, dvariance, drstd, x, gamma, mean, rstd } = args.inputs as Record<
    "dy" | "dmean" | "dvariance" | "drstd" | "x" | "gamma" | "mean" | "rstd",
    tf.TensorInfo
  >;
  const h = heapFor(args.backend as tf.KernelBackend);
  const { n, c, rowBytes } = split(x);
  const d = centred(h, x, mean);
  const s1 = h.zeros([c]);
  h.simd.sums(h.at(s1), h.at(dy), c, n, 0, rowBytes);
  const s2 = h.zeros([c]);
  h.simd.rows(h.at(s2), h.at(dy), h.at(d), c, n, 0, rowBytes, rowBytes);
  const [S1, S2, r, g] = [h.view(s1), h.view(s2), h.view(rstd), h.view(gamma)];
  const [gm, gv, gr] = [h.view(dmean), h.view(dvariance), h.view(drstd)];
  const a = new Float32Array(c);
  const dCoef = new Float32Array(c);
  const shift = new Float32Array(c);
  const dgamma = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    const ri = r[i]!;
    a[i] = g[i]! * ri;
    dgamma[i] = ri * S2[i]!;
    // Through r = (var + eps)^-1/2 and var = sum(d^2) / N; d's own dependence on the
    // mean adds nothing since sum(d) = 0. The mean's gradient spreads evenly.
    const dvar = gv[i]! - 0.5 * gr[i]! * ri * ri * ri - 0.5 * a[i]! * ri * ri * S2[i]!;
    dCoef[i] = (2 * dvar) / n;
    shift[i] = (gm[i]! - a[i]! * S1[i]!) / n;
  }
  // dgamma and dbeta are per channel; dx = a dy + dCoef d + shift.
  const aT = h.tensor([c], a);
  const dCoefT = h.tensor([c], dCoef);
  const shiftT = h.tensor([c], shift);
  const dx = h.zeros(x.shape);
  h.simd.rows(h.at(dx), h.at(dy), h.at(aT), c, n, rowBytes, rowBytes, 0);
  h.simd.rows(h.at(dx), h.at(d), h.at(dCoefT), c, n, rowBytes, rowBytes, 0);
  h.simd.sums(h.at(dx), h.at(shiftT), c, n, rowBytes, 0);
  const dgammaT = h.tensor([c], dgamma);
  const dbeta = h.tensor([c], Float32Array.from(h.view(s1)));
  h.release([dx, dgammaT, dbeta]);
  return [dx, dgammaT, dbeta];
}

export const batchNormTrainingConfig: tf.KernelConfig = {
  kernelName: BatchNormTraining,
  backendName: "wasm",
  kernelFunc: forward,
};

export const batchNormTrainingGradConfig: tf.KernelConfig = {
  kernelName: BatchNormTrainingGrad,
  backendName: "wasm",
  kernelFunc: backward,
};

export const batchNormTrainingGradient: tf.GradConfig = {
  kernelName: BatchNormTraining,
  inputsToSave: ["x", "gamma"],
  outputsToSave: [false, true, false, true],
  gradFunc: (dys, saved) => {
    const [dy, dmean, dvariance, drstd] = dys as tf.Tensor[];
    const [x, gamma, mean, rstd] = saved as tf.Tensor[];
    const [dx, dgamma, dbeta] = tf.engine().runKernel(BatchNormTrainingGrad, {
      dy: dy!,
      dmean: dmean!,
      dvariance: dvariance!,
      drstd: drstd!,
      x: x!,
      gamma: gamma!,
      mean: mean!,
      rstd: rstd!,
    }) as tf.Tensor[];
    return { x: () => dx!, gamma: () => dgamma!, beta: () => dbeta! };
  },
};

/** Whether the fused kernels can run on the active backend. */
export function batchNormTrainingAvailable(): boolean {
  return (
    tf.getBackend() === "wasm" &&
    tf.getKernel(BatchNormTraining, "wasm") !== undefined &&
    simdFor(tf.backend()) !== undefined &&
    bulkFor(tf.backend()) !== undefined
  );
}

/**
 * Normalises `x` over every axis but the last with the batch's own statistics; returns
 * [y, mean, variance (biased), 1 / sqrt(variance + epsilon)]. Differentiable in x, gamma
 * and beta (and through the statistics).
 */
export function batchNormTraining(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
): [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D] {
  return tf.engine().runKernel(BatchNormTraining, { x, gamma, beta }, { epsilon }) as unknown as [
    tf.Tensor,
    tf.Tensor1D,
    tf.Tensor1D,
    tf.Tensor1D,
  ];
}
