import * as tf from "@tensorflow/tfjs";
import {
  columnsInside,
  convInfo,
  geometryOf,
  replacing,
  rowsInside,
  type ConvGeometry,
} from "./common.js";
import { depthwiseModule } from "./depthwiseSimd.js";
import { runWithAgreeingPads } from "./explicitPads.js";
import { evenCalls, poolThreads, runJob, TASKS_PER_THREAD, type Call } from "./pool.js";
import { MIN_POOLED_WORK } from "./pooledRows.js";
import { addressOf, boundTo, wasmHeap } from "./simd.js";

// Why: tfjs-backend-wasm's DepthwiseConv2dNative (XNNPACK) is the depthwise half of every
// separable conv of Xception and mini_xception (docs/PERFORMANCE.md, infer-profile), and at
// some channel counts a register walk of the taps is faster (bench/depthwiseForward.ts;
// tapsWin below). With one filter per channel (multiplier 1) and channels a multiple of
// 4, depthwiseSimd.ts' `taps` keeps each output vector of 4 channels in a register over its
// taps, in place on the backend's memory. Taps reading padding are skipped without padding
// anything: the output is cut into spans of rows with the same filter rows inside the input,
// times spans of columns likewise (the first and last rows/columns of a 'same' conv, and the
// rest), and each span's call walks only those taps. Every output float is written by exactly
// one call, so the calls (span rows cut into blocks) are the kernel pool's tasks, cut by rows:
// bit-identical to one thread. An output's taps are added in (kh, kw) order, as
// tfjs-backend-cpu's loop adds them (which sums in float64: results agree to ~1e-7).

/** Bytes of output one call writes at most: the blocks are the kernel pool's tasks. */
const BLOCK_BYTES = 32768;

/**
 * Channel counts at which `taps` beat tfjs-backend-wasm's own kernel on one thread (bench/
 * depthwiseForward.ts, 2026-12-08, CPU time): up to 80 channels (0.57-0.92x its time at
 * 8-80) and 640 to 1000 (0.70-0.89x at 640, 728, 1000). Between (96-512: 1.1-1.46x) and at
 * 1024 and more (1.05-1.9x; 4096-byte pixels alias in L1) XNNPACK's is faster, so those
 * stay on it. A multiple of 4: the routine has no scalar tail.
 */
export function tapsWin(channels: number): boolean {
  return channels % 4 === 0 && (channels <= 80 || (channels >= 640 && channels <= 1000));
}

/** ARCHC_DEPTHWISE_SIMD=0 hands every case to wasm's own kernel (benchmarks compare the two). */
function disabled(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
    ?.env;
  return env?.["ARCHC_DEPTHWISE_SIMD"] === "0";
}

/** Half-open ranges of output positions whose taps inside the input are one range [t0, t1). */
function spans(
  outSize: number,
  taps: number,
  inside: (t: number) => [number, number],
): { o0: number; o1: number; t0: number; t1: number }[] {
  const ranges = Array.from({ length: taps }, (_, t) => inside(t));
  const out: { o0: number; o1: number; t0: number; t1: number }[] = [];
  for (let o = 0; o < outSize; o++) {
    // The taps inside for position o are consecutive (the input index grows with the tap).
    let t0 = 0;
    while (t0 < taps && !(ranges[t0]![0] <= o && o < ranges[t0]![1])) t0++;
    let t1 = t0;
    while (t1 < taps && ranges[t1]![0] <= o && o < ranges[t1]![1]) t1++;
    const last = out[out.length - 1];
    if (last && last.o1 === o && last.t0 === t0 && last.t1 === t1) last.o1 = o + 1;
    else out.push({ o0: o, o1: o + 1, t0, t1 });
  }
  return out;
}

/** Arguments of `taps` calls computing every output float of y = depthwise(x, w) once. */
export function tapsCalls(g: ConvGeometry, xAt: number, wAt: number, outAt: number): number[][] {
  const px = 4 * g.inChannels;
  const rowSpans = spans(g.outHeight, g.filterHeight, (kh) => rowsInside(g, kh));
  const colSpans = spans(g.outWidth, g.filterWidth, (kw) => columnsInside(g, kw));
  const calls: number[][] = [];
  for (let b = 0; b < g.batch; b++)
    for (const r of rowSpans)
      for (const c of colSpans) {
        const block = Math.max(1, Math.floor(BLOCK_BYTES / ((c.o1 - c.o0) * px)));
        for (let oh = r.o0; oh < r.o1; oh += block) {
          const ih = oh * g.strideHeight - g.padTop + r.t0 * g.dilationHeight;
          const iw = c.o0 * g.strideWidth - g.padLeft + c.t0 * g.dilationWidth;
          calls.push([
            outAt + ((b * g.outHeight + oh) * g.outWidth + c.o0) * px,
            xAt + ((b * g.inHeight + ih) * g.inWidth + iw) * px,
            wAt + (r.t0 * g.filterWidth + c.t0) * px,
            px,
            c.o1 - c.o0,
            px,
            g.strideWidth * px,
            r.t1 - r.t0,
            c.t1 - c.t0,
            g.dilationHeight * g.inWidth * px,
            g.dilationWidth * px,
            g.filterWidth * px,
            px,
            Math.min(block, r.o1 - oh),
            g.outWidth * px,
            g.strideHeight * g.inWidth * px,
          ]);
        }
      }
  return calls;
}

/**
 * y = depthwise(x, filter) by `taps`, or undefined where this path does not apply or does not
 * win (multiplier above 1, non-float32 data, NCHW, no SIMD, channels outside tapsWin): the
 * caller then runs wasm's own.
 */
export function depthwiseForward(
  backend: tf.KernelBackend,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  attrs: tf.DepthwiseConv2dNativeAttrs,
): tf.TensorInfo | undefined {
  if (disabled()) return undefined;
  if (filter.shape[3] !== 1 || x.dtype !== "float32" || filter.dtype !== "float32")
    return undefined;
  if (attrs.dataFormat === "NCHW" || !tapsWin(x.shape[3]!)) return undefined;
  if (!boundTo(backend, depthwiseModule, (e) => e["taps"])) return undefined;
  const info = convInfo(x.shape, filter.shape, attrs, true);
  const g = geometryOf(info);
  const out = wasmHeap(backend).makeOutput(info.outShape, "float32");
  if (info.outShape.some((d) => d === 0)) return out;
  // Addresses after makeOutput: allocating can grow (and so move) the heap.
  const list: Call[] = tapsCalls(
    g,
    addressOf(backend, x),
    addressOf(backend, filter),
    addressOf(backend, out),
  ).map((args) => ({ module: depthwiseModule, fn: "taps", args }));
  // Small passes stay on this thread: waking the pool would cost more than they do.
  const work = info.outShape.reduce((a, b) => a * b, g.filterHeight * g.filterWidth);
  const parts = work < MIN_POOLED_WORK ? 1 : TASKS_PER_THREAD * poolThreads(backend);
  runJob(backend, {
    calls: list,
    grid: [evenCalls(list.length, parts)],
    kernel: tf.DepthwiseConv2dNative,
  });
  return out;
}

/**
 * DepthwiseConv2dNative: ours where it applies and wins, wasm's own (`theirs`) for the rest,
 * on pads XNNPACK agrees with tfjs on (explicitPads.ts: a numeric pad with a 3x2 filter wrote
 * past the output and corrupted the heap).
 */
export const depthwiseForwardReplacement = (theirs: tf.KernelConfig): tf.KernelConfig =>
  replacing(theirs, (args) => {
    const backend = args.backend as tf.KernelBackend;
    const { x, filter } = args.inputs as unknown as tf.DepthwiseConv2dNativeInputs;
    const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeAttrs;
    if (x === undefined || filter === undefined) return theirs.kernelFunc(args);
    return (
      depthwiseForward(backend, x, filter, attrs) ??
      runWithAgreeingPads(theirs, "depthwise", true, args)
    );
  });
