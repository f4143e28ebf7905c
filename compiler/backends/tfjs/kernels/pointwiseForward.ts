import * as tf from "@tensorflow/tfjs";
import { zeroOut } from "./bulk.js";
import { convInfo, replacing } from "./common.js";
import {
  groupedFor,
  tileCall,
  type OuterLevel,
  type TileCols,
  type TileRows,
} from "./groupedSimd.js";
import { poolThreads, runJob, TASKS_PER_THREAD, type Call } from "./pool.js";
import { MIN_POOLED_WORK } from "./pooledRows.js";
import { addressOf, simdFor, wasmHeap } from "./simd.js";

// Why: the 1x1 convolutions are most of Xception's inference (84-87% of tfjs wasm's time is
// pointwise GEMM in XNNPACK's 128-bit mul + add, docs/PERFORMANCE.md) and of the depthwise end
// of training. This is the same GEMM, out[P, co] = x[P, ci] W[ci, co] for NHWC x and a 1x1
// stride-1 filter, on groupedSimd.ts' register tiles (4 pixels x 8 output channels in f32x4
// accumulators, relaxed_madd where the engine has it), read in place from the backend's memory:
//   - W is not packed: a tile's 8 columns are read straight from W's rows (4 * co bytes apart),
//     so nothing is copied per call and nothing cached per weight tensor;
//   - pixels go in blocks of PIXEL_BLOCK, and within a block the reduction in K_BLOCK steps of
//     ci, so a block's x rows (K_BLOCK floats each) and a strip of W rows stay in cache while
//     the tiles walk co; the tiles add into the output, which starts as zeros or the bias;
//   - pixels % 4 go to 1 x 8 tiles, co % 8 to 4-column and scalar tiles: any ci, co, P.
// Every output float belongs to one pixel block, so the blocks are the kernel pool's tasks:
// bit-identical to one thread. Sums are in ci order within a K step, K steps in order.

/** Pixels per block and input channels per reduction step: measured below. */
export const PIXEL_BLOCK = 128;
export const K_BLOCK = 256;

/**
 * Weights (ci * co) up to which the tiles beat XNNPACK's conv2d. Measured 2026-12-08, one
 * thread, CPU time per call interleaved with tf.conv2d, load average 13-15 (block 128, K 256):
 * 32x28x28 64->128 0.89x, 32x14x14 128->256 0.88x, 1x19x19 728->728 0.69x, 8x19x19 728->728
 * 0.71x, 1x10x10 1024->1536 0.80x, 8x147x147 64->128 0.97x; 1x10x10 1536->2048 1.23x (12 MiB
 * of W read once per pixel block from memory, strided: XNNPACK's packed copy streams).
 */
export const MAX_WEIGHTS = 1024 * 1536;

/**
 * Input channels from which the tiles win: below, each 4x8 tile loads and stores its
 * accumulators for a short walk. Measured (npm run bench -- pointwise, ARCHC_BENCH_SHAPES, one
 * thread, load 7-8): 32x28x28 32 -> 64 1.03-1.10x (plain), 0.98x (fused); 64 -> 64 0.81-0.94x.
 */
export const MIN_CI = 64;

/** ARCHC_POINTWISE_GEMM=0 hands every case to wasm's own kernel (benchmarks compare the two). */
function disabled(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
    ?.env;
  return env?.["ARCHC_POINTWISE_GEMM"] === "0";
}

/** Whether a 1x1 conv2d with these channel counts runs here (shape rules aside). */
export function pointwiseGemmTakes(ci: number, co: number): boolean {
  return !disabled() && ci >= MIN_CI && ci * co <= MAX_WEIGHTS;
}

/**
 * The tile calls that add x[P, ci] W[ci, co] into out[P, co] (byte addresses, row-major), and
 * the index in the list where each pixel block's calls start (the pool's task bounds).
 */
export function gemmCalls(
  outAt: number,
  xAt: number,
  wAt: number,
  pixels: number,
  ci: number,
  co: number,
  block = PIXEL_BLOCK,
  kBlock = K_BLOCK,
): { calls: Call[]; blockStarts: number[] } {
  const calls: Call[] = [];
  const blockStarts: number[] = [];
  const [xs, os] = [4 * ci, 4 * co];
  const [co8, co4] = [co & ~7, co & ~3];
  const add = (
    rows: TileRows,
    cols: TileCols,
    at: { o: number; a: number; b: number },
    outer: OuterLevel[],
  ) => {
    for (let k0 = 0; k0 < ci; k0 += kBlock) {
      const walk = [{ count: Math.min(kBlock, ci - k0), a: 4, b: os }];
      const shifted = { o: at.o, a: at.a + 4 * k0, b: at.b + k0 * os };
      const call = tileCall(rows, cols, shifted, outer, walk, xs, os);
      if (call) calls.push(call);
    }
  };
  // Tiles of `rows` pixels, n of them from `at`: 8-column strips, then 4, then scalars.
  const tiles = (rows: TileRows, n: number, at: { o: number; a: number; b: number }) => {
    if (n <= 0) return;
    const pix = { count: n, o: rows * os, a: rows * xs, b: 0 };
    add(rows, 8, at, [{ count: co8 >> 3, o: 32, a: 0, b: 32 }, pix]);
    if (co4 > co8) add(rows, 4, { ...at, o: at.o + 4 * co8, b: at.b + 4 * co8 }, [pix]);
    const rest = { count: co - co4, o: 4, a: 0, b: 4 };
    if (co > co4) add(rows, 1, { ...at, o: at.o + 4 * co4, b: at.b + 4 * co4 }, [rest, pix]);
  };
  for (let p0 = 0; p0 < pixels; p0 += block) {
    blockStarts.push(calls.length);
    const n = Math.min(block, pixels - p0);
    const n4 = n & ~3;
    tiles(4, n4 >> 2, { o: outAt + p0 * os, a: xAt + p0 * xs, b: wAt });
    tiles(1, n - n4, { o: outAt + (p0 + n4) * os, a: xAt + (p0 + n4) * xs, b: wAt });
  }
  return { calls, blockStarts };
}

/** What FusedConv2D adds to the product here: a bias of co values, then ReLU or nothing. */
export interface Epilogue {
  bias?: tf.TensorInfo;
  relu: boolean;
}

/**
 * y = conv2d(x, filter) (+ bias, ReLU) for a 1x1 stride-1 NHWC float32 conv with no padding
 * effect, at least MIN_CI input channels and at most MAX_WEIGHTS weights, or undefined where this path does not apply: the
 * caller then runs wasm's own.
 */
export function pointwiseForward(
  backend: tf.KernelBackend,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  attrs: tf.Conv2DAttrs,
  epilogue: Epilogue = { relu: false },
): tf.TensorInfo | undefined {
  if (x.dtype !== "float32" || filter.dtype !== "float32") return undefined;
  if (attrs.dataFormat === "NCHW" || filter.shape[0] !== 1 || filter.shape[1] !== 1)
    return undefined;
  const [, , ci, co] = filter.shape as number[];
  if (!pointwiseGemmTakes(ci!, co!) || x.shape[3] !== ci) return undefined;
  const { bias } = epilogue;
  if (bias && (bias.dtype !== "float32" || bias.shape.reduce((a, b) => a * b, 1) !== co))
    return undefined;
  const info = convInfo(x.shape, filter.shape, attrs);
  // Stride 1 and no zero border: the output is x's pixels times W (a numeric pad would add one).
  if (info.strideHeight !== 1 || info.strideWidth !== 1) return undefined;
  if (info.outHeight !== info.inHeight || info.outWidth !== info.inWidth) return undefined;
  if (info.padInfo.top !== 0 || info.padInfo.left !== 0) return undefined;
  // Zeros plus the bias in every row by one SIMD pass (simd.ts' sums with a row step of 0),
  // ReLU by wasm's own Relu kernel: a JS fill and ReLU loop cost as much as the GEMM (1.1-2.3x
  // XNNPACK's fused call at mini_xception's shapes, against 0.7-1.1x without them).
  const sums = simdFor(backend)?.sums;
  const relu = epilogue.relu ? tf.getKernel(tf.Relu, "wasm") : undefined;
  if (!groupedFor(backend) || !sums || (epilogue.relu && !relu)) return undefined;
  const wasm = wasmHeap(backend);
  const out = wasm.makeOutput(info.outShape, "float32");
  const pixels = info.batchSize * info.outHeight * info.outWidth;
  if (pixels === 0 || co === 0) return out;
  // The tiles add into the output.
  zeroOut(backend, out);
  if (bias) sums(addressOf(backend, out), addressOf(backend, bias), co!, pixels, 4 * co!, 0);
  // Addresses after makeOutput: allocating can grow (and so move) the heap.
  const { calls, blockStarts } = gemmCalls(
    addressOf(backend, out),
    addressOf(backend, x),
    addressOf(backend, filter),
    pixels,
    ci!,
    co!,
  );
  const blocks = blockStarts.length;
  const parts =
    pixels * ci! * co! < MIN_POOLED_WORK
      ? 1
      : Math.min(blocks, TASKS_PER_THREAD * poolThreads(backend));
  // Tasks are runs of whole pixel blocks: a block's K steps add into the same outputs.
  const bounds = Array.from({ length: parts + 1 }, (_, i) =>
    i === parts ? calls.length : blockStarts[Math.floor((i * blocks) / parts)]!,
  );
  runJob(backend, { calls, grid: parts > 1 ? [{ kind: "calls", bounds }] : [], kernel: "Conv2D" });
  if (!relu) return out;
  const activated = relu.kernelFunc({ inputs: { x: out }, backend, attrs: {} }) as tf.TensorInfo;
  backend.disposeData(out.dataId);
  return activated;
}

/** Conv2D: ours where it applies and wins, wasm's own (`theirs`) for the rest. */
export const conv2dForwardReplacement = (theirs: tf.KernelConfig): tf.KernelConfig =>
  replacing(theirs, (args) => {
    const { x, filter } = args.inputs as unknown as tf.Conv2DInputs;
    const attrs = args.attrs as unknown as tf.Conv2DAttrs;
    if (x === undefined || filter === undefined) return theirs.kernelFunc(args);
    return (
      pointwiseForward(args.backend as tf.KernelBackend, x, filter, attrs) ??
      theirs.kernelFunc(args)
    );
  });

/**
 * FusedConv2D: ours for a bias of co values (or none) and a linear or ReLU activation (what
 * tf.fused.conv2d and the layers pass most); prelu, relu6, leaky ReLU, sigmoid, elu and
 * broadcast biases go to wasm's own.
 */
export const fusedConv2dForwardReplacement = (theirs: tf.KernelConfig): tf.KernelConfig =>
  replacing(theirs, (args) => {
    const { x, filter, bias, preluActivationWeights } =
      args.inputs as unknown as tf.FusedConv2DInputs;
    const attrs = args.attrs as unknown as tf.FusedConv2DAttrs;
    const activation = attrs.activation ?? "linear";
    if (
      x === undefined ||
      filter === undefined ||
      preluActivationWeights != null ||
      (activation !== "linear" && activation !== "relu")
    )
      return theirs.kernelFunc(args);
    return (
      pointwiseForward(args.backend as tf.KernelBackend, x, filter, attrs, {
        ...(bias != null ? { bias } : {}),
        relu: activation === "relu",
      }) ?? theirs.kernelFunc(args)
    );
  });
