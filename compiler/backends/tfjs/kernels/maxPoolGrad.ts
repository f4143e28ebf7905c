import * as tf from "@tensorflow/tfjs";
import { replacing } from "./common.js";
import { zeroOut } from "./bulk.js";
import { poolGradFor, poolGradModule, type PoolGradFn } from "./maxPoolSimd.js";
import { poolThreads, runJob, TASKS_PER_THREAD, type Call } from "./pool.js";
import { MIN_POOLED_WORK } from "./pooledRows.js";
import { addressOf, wasmHeap } from "./simd.js";

// Why: wasm's MaxPoolGrad took 16% of a mini_xception training step for its two
// pools, more than all depthwise gradients together. This one walks each window
// once per output pixel with all channels side by side (contiguous in NHWC), keeps
// the first maximum in the window's row-major order as the cpu backend does, and
// adds dy there, in place on the backend's memory.
//
// That JS loop costs ~8 ns per (output element x tap): `v > best` is a branch that
// real data makes unpredictable. Where the engine has WebAssembly SIMD the windows go
// to one SIMD routine instead (maxPoolSimd.ts), whose comparison is a lane mask; the
// JS loop stays for engines without it.

type Pool2DInfo = tf.backend_util.Conv2DInfo;

/**
 * dx by the SIMD routine: per sample and output row, the window's rows are clipped to
 * the input once, and the output columns whose windows lie wholly inside the input go
 * to one call (the edge columns, clipped, one call each). On the kernel pool, runs of
 * samples are the tasks: windows of one sample can share input pixels (stride below the
 * window), windows of two samples never do, so a run writes its own floats, in one
 * thread's order: bit-identical. (Not by channels: the routine steps dy by its channel
 * count.)
 */
function bySimd(
  pool: PoolGradFn,
  backend: tf.KernelBackend,
  input: tf.TensorInfo,
  dy: tf.TensorInfo,
  out: tf.TensorInfo,
  info: Pool2DInfo,
): void {
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const xAt = addressOf(backend, input);
  const dyAt = addressOf(backend, dy);
  const off = addressOf(backend, out) - xAt;
  const pixel = 4 * c;
  const rowStride = inWidth * pixel;
  const work = batchSize * outHeight * outWidth * fh * fw * c;
  const threads = work < MIN_POOLED_WORK ? 1 : poolThreads(backend);
  const calls: Call[] = [];
  const samples = [0];
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      const h0 = oh * sh - info.padInfo.top;
      const r0 = Math.max(0, h0);
      const rows = Math.min(inHeight, h0 + fh) - r0;
      if (rows <= 0) continue;
      const inside = (ow: number): boolean => {
        const w0 = ow * sw - info.padInfo.left;
        return w0 >= 0 && w0 + fw <= inWidth;
      };
      for (let ow = 0; ow < outWidth;) {
        const w0 = ow * sw - info.padInfo.left;
        const c0 = Math.max(0, w0);
        const cols = Math.min(inWidth, w0 + fw) - c0;
        let count = 1;
        if (inside(ow)) while (ow + count < outWidth && inside(ow + count)) count++;
        if (cols > 0) {
          const args: Parameters<PoolGradFn> = [
            xAt + ((b * inHeight + r0) * inWidth + c0) * pixel,
            dyAt + ((b * outHeight + oh) * outWidth + ow) * pixel,
            off,
            c,
            count,
            sw * pixel,
            rows,
            cols,
            rowStride,
            pixel,
          ];
          if (threads > 1) calls.push({ module: poolGradModule, fn: "pool", args });
          else pool(...args);
        }
        ow += count;
      }
    }
    samples.push(calls.length);
  }
  if (threads <= 1) return;
  const runs = Math.min(batchSize, TASKS_PER_THREAD * threads);
  const bounds = Array.from(
    { length: runs + 1 },
    (_, i) => samples[Math.floor((i * batchSize) / runs)]!,
  );
  runJob(backend, { calls, grid: [{ kind: "calls", bounds }], kernel: tf.MaxPoolGrad });
}

/**
 * The kernel, made from wasm's own (which keeps non-float32 data). `simd` finds the SIMD
 * routine for a backend; tests pass one that finds none to check the JS loop.
 */
export function maxPoolGradReplacement(
  theirs: tf.KernelConfig,
  simd: (backend: tf.KernelBackend) => PoolGradFn | undefined = poolGradFor,
): tf.KernelConfig {
  return replacing(theirs, (args) => {
    const backend = args.backend as tf.KernelBackend;
    const { dy, input } = args.inputs as unknown as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const attrs = args.attrs as unknown as tf.MaxPoolGradAttrs;
    if (input.dtype !== "float32" || dy.dtype !== "float32") return theirs.kernelFunc(args);
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      attrs.filterSize,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    const wasm = wasmHeap(backend);
    const out = wasm.makeOutput(input.shape, "float32");
    // Views after makeOutput: allocating can grow (and so replace) the heap.
    zeroOut(backend, out);
    const dx = wasm.typedArrayFromHeap(out);
    const pool = simd(backend);
    if (pool) {
      if (dx.length > 0) bySimd(pool, backend, input, dy, out, info);
      return out;
    }
    const x = wasm.typedArrayFromHeap(input);
    const g = wasm.typedArrayFromHeap(dy);
    const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth } = info;
    const best = new Float32Array(c);
    const at = new Int32Array(c);
    for (let b = 0; b < batchSize; b++)
      for (let oh = 0; oh < outHeight; oh++)
        for (let ow = 0; ow < outWidth; ow++) {
          best.fill(-Infinity);
          at.fill(-1);
          const h0 = oh * info.strideHeight - info.padInfo.top;
          const w0 = ow * info.strideWidth - info.padInfo.left;
          for (let kh = 0; kh < info.filterHeight; kh++) {
            const ih = h0 + kh;
            if (ih < 0 || ih >= inHeight) continue;
            for (let kw = 0; kw < info.filterWidth; kw++) {
              const iw = w0 + kw;
              if (iw < 0 || iw >= inWidth) continue;
              const base = ((b * inHeight + ih) * inWidth + iw) * c;
              for (let ch = 0; ch < c; ch++) {
                const v = x[base + ch]!;
                if (v > best[ch]!) {
                  best[ch] = v;
                  at[ch] = base + ch;
                }
              }
            }
          }
          const dyBase = ((b * outHeight + oh) * outWidth + ow) * c;
          for (let ch = 0; ch < c; ch++) {
            const i = at[ch]!;
            if (i >= 0) dx[i] = dx[i]! + g[dyBase + ch]!;
          }
        }
    return out;
  });
}
