import * as tf from "@tensorflow/tfjs";
import { convInfo, replacing } from "./common.js";
import {
  evenCalls,
  poolThreads,
  runJob,
  TASKS_PER_THREAD,
  wasmBackendThreads,
  type Call,
} from "./pool.js";
import { MIN_POOLED_WORK } from "./pooledRows.js";
import { pointwiseGemmTakes } from "./pointwiseForward.js";
import { addressOf, boundTo, wasmHeap } from "./simd.js";
import { winogradModule } from "./winogradSimd.js";

// Why: a regular (parts = 1) training step is three 3x3 convolutions a layer, each an XNNPACK
// operator at 14-26 GFLOP/s in 128-bit SIMD (docs/PERFORMANCE.md, "Regular convolutions").
// Winograd's F(2x2, 3x3) computes a stride-1 3x3 conv with 2.25x fewer multiply-adds: the
// input cut into 4x4 tiles overlapping by 2, each tile and the filter transformed (winogradSimd.ts),
// then 16 independent GEMMs [tiles x ci] x [ci x co] (XNNPACK's own 1x1 Conv2D, so its packing
// and threads), then each 4x4 product tile transformed back into a 2x2 output tile written in
// place into the NHWC output (with the bias and ReLU of a FusedConv2D). The transforms run on
// archc's kernel pool (calls: runs of tiles of one tile row; every output float written by one
// call). Results differ from the direct sum by float32 rounding of the transforms (~1e-6
// relative at a few hundred input channels; the tests hold them to 1e-4).

/** ARCHC_WINOGRAD=0 keeps every conv on XNNPACK (benchmarks compare the two). */
export function winogradDisabled(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
    ?.env;
  return env?.["ARCHC_WINOGRAD"] === "0";
}

/** XNNPACK's Conv2D (wasm's own, kept by conv2dReplacement): the 16 GEMMs run as its 1x1 convs. */
let xnnpackConv2d: tf.KernelConfig | undefined;

/** Bytes of transformed input and GEMM output one chunk of tile rows may hold (V and M). */
const CHUNK_BYTES = 8 << 20;

/**
 * Whether a conv of this geometry can run as F(2x2, 3x3) here: 3x3, stride 1, dilation 1,
 * channel counts a multiple of 4 (the transforms have no scalar tail), something to compute.
 */
export function winogradApplies(
  filterShape: readonly number[],
  strides: number | readonly number[],
  dilations: number | readonly number[] | undefined,
): boolean {
  const [kh, kw, ci, co] = filterShape as [number, number, number, number];
  const one = (v: number | readonly number[] | undefined) =>
    v === undefined || (typeof v === "number" ? v === 1 : v.every((d) => d === 1));
  return (
    kh === 3 &&
    kw === 3 &&
    ci % 4 === 0 &&
    co % 4 === 0 &&
    ci > 0 &&
    co > 0 &&
    one(strides) &&
    one(dilations)
  );
}

/**
 * Where F(2x2, 3x3) beat XNNPACK's conv (bench/winograd.ts, process CPU time per call, 2026-12-08,
 * load 7-11). On one backend thread: 1.08-2.32x at ci x co >= 2048 (28x28 64->64 1.14, 14x14
 * 64->64 1.39, 128->128 1.67, 7x7 128->128 1.08, 256->256 1.41, 19x19 728->728 2.32, 149x149
 * 32->64 1.39); at 28x28 32->32 (1024) it lost, 0.80x: 16 GEMMs with 32-deep sums run no faster
 * than XNNPACK's 288-deep one, and the transforms are then pure cost. On two threads it lost
 * everywhere below 728 x 728 (0.24-0.89x; 728->728 1.61x CPU, 1.25x wall-clock), also with the
 * transforms kept on the calling thread: XNNPACK's pthreadpool worker spins between its 16 GEMM
 * calls and through the transforms, which on two cores takes the calling thread's core. Hence
 * 512 x 512 (between the 256 x 256 that lost and the 728 x 728 that won) above one thread.
 * Where the 16 GEMMs go to archc's own 1x1 GEMM instead (pointwiseForward.ts: ci >= 64),
 * nothing spins and two threads win from 64 x 64 (h26gemm, 2026-12-08, load 4-6: 28x28 64->64
 * 1.27x, 14x14 64->64 1.43x, 128->128 1.92x, 7x7 128->128 1.16x, 256->256 1.96x, 19x19
 * 728->728 3.91x; one thread 1.26-3.70x), so there the two-thread bound is 4096.
 */
export function winogradWins(ci: number, co: number, threads = wasmBackendThreads()): boolean {
  const twoThreads = pointwiseGemmTakes(ci, co) ? 4096 : 512 * 512;
  return ci * co >= (minProduct ?? (threads === 1 ? 2048 : twoThreads));
}

let minProduct: number | undefined;

/** Tests: use Winograd from this ci x co up whatever the thread count (undefined: measured). */
export function setWinogradMinProduct(product: number | undefined): void {
  minProduct = product;
}

export interface WinogradGeometry {
  padTop: number;
  padLeft: number;
  outHeight: number;
  outWidth: number;
}

interface Run {
  /** First tile (column of tiles, or row of tiles) of the run, and how many. */
  t0: number;
  count: number;
  /** Clamped offsets (in pixels) of the run's first tile, and which are inside. */
  at: number[];
  valid: number;
}

/**
 * A row (or column) of tiles cut into runs: those whose `span` positions (2t - pad + j, j <
 * span) are all inside [0, size) together, every other tile alone with its clamped positions
 * and a bit per position inside.
 */
function runsOf(tiles: number, span: number, pad: number, size: number): Run[] {
  const full = (1 << span) - 1;
  const runs: Run[] = [];
  for (let t = 0; t < tiles; t++) {
    const at: number[] = [];
    let valid = 0;
    for (let j = 0; j < span; j++) {
      const p = 2 * t - pad + j;
      if (p >= 0 && p < size) valid |= 1 << j;
      at.push(Math.min(size - 1, Math.max(0, p)));
    }
    const last = runs[runs.length - 1];
    if (valid === full && last?.valid === full && last.t0 + last.count === t) last.count++;
    else runs.push({ t0: t, count: 1, at, valid });
  }
  return runs;
}

/** A float32 tensor of the 16 addresses (an int32 table the routines read). */
function addressTable(backend: tf.KernelBackend, ts: readonly tf.TensorInfo[]): tf.TensorInfo {
  const heap = wasmHeap(backend);
  const table = heap.makeOutput([16], "int32");
  const view = heap.typedArrayFromHeap(table) as unknown as Int32Array;
  ts.forEach((t, k) => (view[k] = addressOf(backend, t)));
  return table;
}

function pooled(backend: tf.KernelBackend, calls: Call[], work: number): void {
  const parts = work < MIN_POOLED_WORK ? 1 : TASKS_PER_THREAD * poolThreads(backend);
  runJob(backend, {
    calls,
    grid: [evenCalls(calls.length, parts)],
    kernel: "Conv2D (Winograd)",
  });
}

/**
 * y = conv2d(x, filter) (NHWC, filter [3, 3, ci, co], stride 1) with the given pads and output
 * size, then + bias and ReLU where asked, by F(2x2, 3x3); undefined where this backend has no
 * SIMD (the caller then runs XNNPACK's conv).
 */
export function winogradConv2d(
  backend: tf.KernelBackend,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  geo: WinogradGeometry,
  epilogue: { bias?: tf.TensorInfo; relu?: boolean } = {},
): tf.TensorInfo | undefined {
  if (!boundTo(backend, winogradModule, (e) => e["input"])) return undefined;
  const gemm = xnnpackConv2d ?? tf.getKernel(tf.Conv2D, "wasm");
  if (!gemm) return undefined;
  const [n, h, w, ci] = x.shape as [number, number, number, number];
  const co = filter.shape[3]!;
  const { padTop, padLeft, outHeight, outWidth } = geo;
  const heap = wasmHeap(backend);
  const out = heap.makeOutput([n, outHeight, outWidth, co], "float32");
  if (n * outHeight * outWidth === 0) return out;
  const cb = 4 * ci;
  const ob = 4 * co;
  const tilesY = Math.ceil(outHeight / 2);
  const tilesX = Math.ceil(outWidth / 2);
  const disposeAll = (ts: tf.TensorInfo[]) => ts.forEach((t) => backend.disposeData(t.dataId));

  // U_k = G g G^T: 16 filters [1, 1, ci, co] for the GEMMs.
  const us = Array.from({ length: 16 }, () => heap.makeOutput([1, 1, ci, co], "float32"));
  const uTable = addressTable(backend, us);
  runJob(backend, {
    calls: [
      {
        module: winogradModule,
        fn: "filter",
        args: [addressOf(backend, filter), addressOf(backend, uTable), 4 * ci * co],
      },
    ],
    grid: [],
    kernel: "Conv2D (Winograd filter)",
  });

  const inCols = runsOf(tilesX, 4, padLeft, w);
  const outCols = runsOf(tilesX, 2, 0, outWidth);
  const rowsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / (16 * 4 * (ci + co) * tilesX)));
  const totalRows = n * tilesY;
  const xAt = addressOf(backend, x);
  const yAt = addressOf(backend, out);
  const biasAt = epilogue.bias ? addressOf(backend, epilogue.bias) : 0;
  for (let r0 = 0; r0 < totalRows; r0 += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, totalRows - r0);
    const tiles = rows * tilesX;
    const vs = Array.from({ length: 16 }, () => heap.makeOutput([1, 1, tiles, ci], "float32"));
    const vTable = addressTable(backend, vs);
    const vAt = addressOf(backend, vTable);
    const inCalls: Call[] = [];
    for (let r = 0; r < rows; r++) {
      const b = Math.floor((r0 + r) / tilesY);
      const [row] = runsOf(1, 4, padTop - 2 * ((r0 + r) % tilesY), h);
      for (const c of inCols) {
        const mask = row!.valid | (c.valid << 4);
        inCalls.push({
          module: winogradModule,
          fn: mask === 0xff ? "input" : "input_m",
          args: [
            vAt,
            (r * tilesX + c.t0) * cb,
            xAt + b * h * w * cb,
            ...row!.at.map((i) => i * w * cb),
            ...c.at.map((j) => j * cb),
            mask,
            c.count,
            2 * cb,
            cb,
          ],
        });
      }
    }
    pooled(backend, inCalls, tiles * 16 * ci);

    const ms = vs.map(
      (v, k) =>
        gemm.kernelFunc({
          inputs: { x: v, filter: us[k]! },
          backend,
          attrs: { strides: 1, pad: "valid", dataFormat: "NHWC", dilations: 1 },
        }) as tf.TensorInfo,
    );
    disposeAll([...vs, vTable]);
    const mTable = addressTable(backend, ms);
    const mAt = addressOf(backend, mTable);
    const outCalls: Call[] = [];
    for (let r = 0; r < rows; r++) {
      const b = Math.floor((r0 + r) / tilesY);
      const [row] = runsOf(1, 2, -2 * ((r0 + r) % tilesY), outHeight);
      for (const c of outCols) {
        const mask = row!.valid | (c.valid << 2);
        outCalls.push({
          module: winogradModule,
          fn: mask === 0xf ? "output" : "output_m",
          args: [
            mAt,
            (r * tilesX + c.t0) * ob,
            yAt + b * outHeight * outWidth * ob,
            ...row!.at.map((i) => i * outWidth * ob),
            ...c.at.map((j) => j * ob),
            mask,
            c.count,
            2 * ob,
            ob,
            biasAt,
            epilogue.relu ? 1 : 0,
          ],
        });
      }
    }
    pooled(backend, outCalls, tiles * 16 * co);
    disposeAll([...ms, mTable]);
  }
  disposeAll([...us, uTable]);
  return out;
}

/** Conv2D: F(2x2, 3x3) where it applies and wins, XNNPACK's own (`theirs`) for the rest. */
export function conv2dReplacement(theirs: tf.KernelConfig): tf.KernelConfig {
  xnnpackConv2d = theirs;
  return replacing(theirs, (args) => {
    const { x, filter } = args.inputs as unknown as tf.Conv2DInputs;
    const attrs = args.attrs as unknown as tf.Conv2DAttrs;
    return (
      (x && filter && forward(args.backend as tf.KernelBackend, x, filter, attrs, {})) ??
      theirs.kernelFunc(args)
    );
  });
}

/** FusedConv2D: the same, with its bias and a ReLU (or none) in the output transform. */
export function fusedConv2dReplacement(theirs: tf.KernelConfig): tf.KernelConfig {
  return replacing(theirs, (args) => {
    const { x, filter, bias, preluActivationWeights } =
      args.inputs as unknown as tf.FusedConv2DInputs;
    const attrs = args.attrs as unknown as tf.FusedConv2DAttrs;
    const activation = attrs.activation ?? "linear";
    const co = filter?.shape[3];
    const takes =
      x &&
      filter &&
      !preluActivationWeights &&
      (activation === "linear" || activation === "relu") &&
      (!bias || (bias.dtype === "float32" && bias.shape.length === 1 && bias.shape[0] === co));
    return (
      (takes &&
        forward(args.backend as tf.KernelBackend, x, filter, attrs, {
          ...(bias ? { bias } : {}),
          relu: activation === "relu",
        })) ||
      theirs.kernelFunc(args)
    );
  });
}

function forward(
  backend: tf.KernelBackend,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  attrs: tf.Conv2DAttrs,
  epilogue: { bias?: tf.TensorInfo; relu?: boolean },
): tf.TensorInfo | undefined {
  if (winogradDisabled() || x.dtype !== "float32" || filter.dtype !== "float32") return undefined;
  if (attrs.dataFormat === "NCHW" || x.shape.length !== 4) return undefined;
  if (!winogradApplies(filter.shape, attrs.strides, attrs.dilations)) return undefined;
  if (!winogradWins(filter.shape[2]!, filter.shape[3]!) || x.shape[3] !== filter.shape[2])
    return undefined;
  const info = convInfo(x.shape, filter.shape, attrs);
  return winogradConv2d(
    backend,
    x,
    filter,
    {
      padTop: info.padInfo.top,
      padLeft: info.padInfo.left,
      outHeight: info.outHeight,
      outWidth: info.outWidth,
    },
    epilogue,
  );
}
