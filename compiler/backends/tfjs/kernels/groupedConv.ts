import * as tf from "@tensorflow/tfjs";
import { zeroOut } from "./bulk.js";
import { spreadForInputGradient, withTensors } from "./common.js";
import {
  groupedFor,
  outerSplit,
  tileCall,
  type OuterLevel,
  type TileCols,
  type TileRows,
} from "./groupedSimd.js";
import { evenCalls, poolThreads, runJob, TASKS_PER_THREAD, type Call, type Job } from "./pool.js";
import { addressOf, simdFor, wasmHeap } from "./simd.js";

// Why: tfjs has no grouped convolution (tfjs issue 3900), so archc lowered every
// 1 < parts < channels layer onto ops it has (../grouped/strategies.ts), each paying for
// transposes, splits and one XNNPACK operator per group, forward and backward. These
// three kernels compute a grouped convolution (NHWC, kernel [kh, kw, cin/groups, cout],
// output channel o in group floor(o / (cout/groups)), as Keras Conv2D(groups=...)) and
// both its gradients directly, with the register tiles of groupedSimd.ts on the wasm
// backend's memory:
//   forward          tiles of 4 output pixels x 8 output channels of one group, summed over
//                    the taps and the group's input channels of the zero-padded input;
//   input gradient   the forward tiles on dy spread by the stride and padded, with the
//                    kernel flipped in space and its in/out channels swapped per group;
//   filter gradient  tiles of 4 input channels x 8 output channels of one tap and group,
//                    summed over the pixels (blocks of rows, so they stay in cache).
// On the kernel pool's threads (pool.ts) the forward tiles are cut by sample, row and group
// (each output written by one task, in the order one thread takes); the filter gradient by
// blocks of rows, each task summing into its own copy of dk, the copies added at the end.
// Any stride, dilation, 'same'/'valid'/numeric/explicit padding and dimRoundingMode.

export const GroupedConv2D = "ArchcGroupedConv2D";
export const GroupedConv2DBackpropInput = "ArchcGroupedConv2DBackpropInput";
export const GroupedConv2DBackpropFilter = "ArchcGroupedConv2DBackpropFilter";

export interface GroupedConv2DAttrs {
  strides: number | [number, number];
  pad: "same" | "valid" | number | tf.backend_util.ExplicitPadding;
  dilations: number | [number, number];
  groups: number;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

type Shape4 = [number, number, number, number];
type Args = { inputs: tf.NamedTensorInfoMap; backend: {}; attrs?: tf.NamedAttrMap };

function infoFor(xShape: readonly number[], filterShape: Shape4, attrs: GroupedConv2DAttrs) {
  const [, , gi, cout] = filterShape;
  const cin = xShape[3]!;
  const g = attrs.groups;
  if (!Number.isInteger(g) || g < 1 || cin !== gi * g || cout % g !== 0)
    throw new Error(
      `${GroupedConv2D}: input channels ${cin} and filter [.., ${gi}, ${cout}] do not make ` +
        `${g} groups (want input channels = groups x filter depth, output channels divisible by groups)`,
    );
  return tf.backend_util.computeConv2DInfo(
    xShape as Shape4,
    filterShape,
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
  );
}

function needSimd(backend: tf.KernelBackend): void {
  if (!groupedFor(backend))
    throw new Error(`${GroupedConv2D}: WebAssembly SIMD on the wasm backend is needed`);
}

/** Independent calls (each writes its own outputs) as a job for `threads` threads. */
function independentJob(calls: Call[], threads: number, kernel: string): Job {
  if (threads <= 1) return { calls, grid: [], kernel };
  const target = TASKS_PER_THREAD * threads;
  if (calls.length >= target) return { calls, grid: [evenCalls(calls.length, target)], kernel };
  // Few calls (a small batch): cut each one's output rows (outer level 0) too.
  return {
    kernel,
    calls,
    grid: [evenCalls(calls.length, calls.length), outerSplit(0, Math.ceil(target / calls.length))],
  };
}

/** Splits `n` into runs a tile of `full` covers and the rest, as [size, start, count]. */
function runs<T extends number>(n: number, full: T, rest: T): [T, number, number][] {
  const whole = Math.floor(n / full);
  const out: [T, number, number][] = [];
  if (whole > 0) out.push([full, 0, whole]);
  if (n > whole * full) out.push([rest, whole * full, n - whole * full]);
  return out;
}

/** Column runs of a group's `go` channels: 8-wide vector tiles, one 4-wide, scalars. */
function columnRuns(go: number): [TileCols, number, number][] {
  const out: [TileCols, number, number][] = [];
  const eights = go >> 3;
  if (eights > 0) out.push([8, 0, eights]);
  if (go & 4) out.push([4, eights * 8, 1]);
  if (go & 3) out.push([1, go & ~3, go & 3]);
  return out;
}

/** What the loops need to know of an input, its zero padding and the output. */
interface Forward {
  batch: number;
  /** The input's rows and columns, as stored (the padding is never materialised). */
  h: number;
  w: number;
  /** Rows above and columns left of the input that read as zeros. */
  top: number;
  left: number;
  cin: number;
  outHeight: number;
  outWidth: number;
  cout: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  groups: number;
}

/**
 * A run of consecutive outputs along one axis whose windows keep the same taps inside the
 * input: outputs [start, start + length), taps [lo, lo + taps).
 */
export interface Span {
  start: number;
  length: number;
  lo: number;
  taps: number;
}

/**
 * The outputs along one axis (output o reads input o * stride - pad + t * dilation for taps
 * t < k) cut into runs with equal taps inside [0, inLen); outputs that read nothing but
 * padding are left out (they stay zero). Skipping the taps that read padding leaves every sum
 * the same terms in the same order less products with zero, so the result is bit-identical to
 * summing over a zero-padded copy (for finite kernels: 0 * Inf would have been NaN).
 */
export function spans(
  outLen: number,
  stride: number,
  pad: number,
  inLen: number,
  k: number,
  dilation: number,
): Span[] {
  const out: Span[] = [];
  for (let o = 0; o < outLen; o++) {
    const first = o * stride - pad;
    const lo = Math.max(0, Math.ceil(-first / dilation));
    const hi = Math.min(k - 1, Math.floor((inLen - 1 - first) / dilation));
    const taps = hi - lo + 1;
    if (taps <= 0) continue;
    const last = out[out.length - 1];
    if (last && last.start + last.length === o && last.lo === lo && last.taps === taps)
      last.length++;
    else out.push({ start: o, length: 1, lo, taps });
  }
  return out;
}

/** The outputs o along one axis whose tap t is inside the input, as [first, count]. */
export function reach(
  outLen: number,
  stride: number,
  pad: number,
  inLen: number,
  t: number,
  dilation: number,
): [number, number] {
  const at = t * dilation - pad; // the input o = 0 reads with tap t
  const first = Math.max(0, Math.ceil(-at / stride));
  const last = Math.min(outLen - 1, Math.floor((inLen - 1 - at) / stride));
  return [first, Math.max(0, last - first + 1)];
}

/**
 * k [taps, gi, g*go] repacked so that each tile's column block is contiguous: per group, per
 * column run of columnRuns(go), per tile, [taps * gi][cols]. The forward tiles then walk their
 * kernel rows 32 bytes apart instead of a whole output row (cout floats) apart, which kept a
 * tile's 9 * gi rows on as many cache lines (and pages) and made it slower than XNNPACK.
 */
export function packKernel(
  k: Float32Array,
  taps: number,
  gi: number,
  cout: number,
  groups: number,
): Float32Array {
  const go = cout / groups;
  const rows = taps * gi;
  const out = new Float32Array(rows * cout);
  let at = 0;
  for (let g = 0; g < groups; g++)
    for (const [cols, c0, count] of columnRuns(go))
      for (let t = 0; t < count; t++) {
        const col = g * go + c0 + t * cols;
        for (let q = 0; q < rows; q++)
          for (let v = 0; v < cols; v++) out[at++] = k[q * cout + col + v]!;
      }
  return out;
}

/**
 * The calls that make y (zeroed) += the grouped correlation of the input x, zero-padded as f
 * says, with a kernel [kh, kw, gi, cout] packed by packKernel at kAt; each writes its own part
 * of y. The padding is read as zeros by leaving it out: the output is cut into spans of rows
 * and of columns whose windows keep the same taps inside the input (spans()), and each span's
 * tiles walk only those taps. With 'same' 3x3 that is the top row, the bottom row, and the
 * rows between, times the first column, the last, and the columns between.
 */
function forwardTiles(f: Forward, yAt: number, xAt: number, kAt: number): Call[] {
  const calls: Call[] = [];
  const gi = f.cin / f.groups;
  const go = f.cout / f.groups;
  const px = 4 * f.cin; // bytes of an input pixel
  const py = 4 * f.cout; // of an output pixel
  const groupBytes = 4 * f.kh * f.kw * gi * go; // one group's packed kernel
  const rowSpans = spans(f.outHeight, f.sh, f.top, f.h, f.kh, f.dh);
  const colSpans = spans(f.outWidth, f.sw, f.left, f.w, f.kw, f.dw);
  for (let n = 0; n < f.batch; n++) {
    const y0 = yAt + n * f.outHeight * f.outWidth * py;
    const x0 = xAt + n * f.h * f.w * px;
    for (const rs of rowSpans) {
      const ih = rs.start * f.sh - f.top + rs.lo * f.dh; // the first row's first row read
      for (const cs of colSpans) {
        const iw = cs.start * f.sw - f.left + cs.lo * f.dw;
        for (const [rows, p0, pixels] of runs<TileRows>(cs.length, 4, 1)) {
          for (const [cols, c0, count] of columnRuns(go)) {
            const rowBytes = 4 * cols; // a packed kernel row of this run
            const walk = [
              { count: rs.taps, a: f.dh * f.w * px, b: f.kw * gi * rowBytes },
              { count: cs.taps, a: f.dw * px, b: gi * rowBytes },
              { count: gi, a: 4, b: rowBytes },
            ];
            const outer: OuterLevel[] = [
              { count: rs.length, o: f.outWidth * py, a: f.sh * f.w * px, b: 0 },
              { count: f.groups, o: 4 * go, a: 4 * gi, b: groupBytes },
              { count: pixels, o: rows * py, a: rows * f.sw * px, b: 0 },
              { count, o: 4 * cols, a: 0, b: f.kh * f.kw * gi * rowBytes },
            ];
            const call = tileCall(
              rows,
              cols,
              {
                o: y0 + (rs.start * f.outWidth + cs.start + p0) * py + 4 * c0,
                a: x0 + (ih * f.w + iw + p0 * f.sw) * px,
                b: kAt + 4 * f.kh * f.kw * gi * c0 + (rs.lo * f.kw + cs.lo) * gi * rowBytes,
              },
              outer,
              walk,
              f.sw * px,
              py,
            );
            if (call) calls.push(call);
          }
        }
      }
    }
  }
  return calls;
}

/** Rows of the output a filter-gradient pass sums at once: about this many pixels. */
export const FILTER_GRAD_PIXELS = 256;

/** The blocks of output rows the filter gradient sums at once, as [sample, first row, rows]. */
function rowBlocks(f: Forward): [number, number, number][] {
  const rowsPerBlock = Math.max(1, Math.floor(FILTER_GRAD_PIXELS / f.outWidth));
  const out: [number, number, number][] = [];
  for (let n = 0; n < f.batch; n++)
    for (let oh = 0; oh < f.outHeight; oh += rowsPerBlock)
      out.push([n, oh, Math.min(rowsPerBlock, f.outHeight - oh)]);
  return out;
}

/**
 * The calls that make dk (zeroed) += the grouped filter gradient of the input x (zero-padded
 * as f says) and dy over the given row blocks, in order (they all sum into dk). Each tap sums
 * only the outputs whose pixel for that tap is inside the input (reach()): the products with
 * padding, all zero, are left out.
 */
function filterTiles(
  f: Forward,
  blocks: readonly [number, number, number][],
  dkAt: number,
  xAt: number,
  dyAt: number,
  calls: Call[] = [],
): Call[] {
  const gi = f.cin / f.groups;
  const go = f.cout / f.groups;
  const px = 4 * f.cin;
  const py = 4 * f.cout;
  const rowReach = Array.from({ length: f.kh }, (_, r) =>
    reach(f.outHeight, f.sh, f.top, f.h, r, f.dh),
  );
  const colReach = Array.from({ length: f.kw }, (_, c) =>
    reach(f.outWidth, f.sw, f.left, f.w, c, f.dw),
  );
  for (const [n, oh, rowCount] of blocks) {
    for (let r = 0; r < f.kh; r++) {
      const [rFirst, rCount] = rowReach[r]!;
      const first = Math.max(oh, rFirst);
      const rowsIn = Math.min(oh + rowCount, rFirst + rCount) - first;
      if (rowsIn <= 0) continue;
      for (let c = 0; c < f.kw; c++) {
        const [ow, colsIn] = colReach[c]!;
        if (colsIn <= 0) continue;
        const walk = [
          { count: rowsIn, a: f.sh * f.w * px, b: f.outWidth * py },
          { count: colsIn, a: f.sw * px, b: py },
        ];
        const dy0 = dyAt + ((n * f.outHeight + first) * f.outWidth + ow) * py;
        const ih = first * f.sh - f.top + r * f.dh;
        const iw = ow * f.sw - f.left + c * f.dw;
        const x0 = xAt + ((n * f.h + ih) * f.w + iw) * px;
        const k0 = dkAt + (r * f.kw + c) * gi * py;
        for (const [rows, i0, channels] of runs<TileRows>(gi, 4, 1))
          for (const [cols, c0, count] of columnRuns(go)) {
            const outer: OuterLevel[] = [
              { count: f.groups, o: 4 * go, a: 4 * gi, b: 4 * go },
              { count: channels, o: rows * py, a: 4 * rows, b: 0 },
              { count, o: 4 * cols, a: 0, b: 4 * cols },
            ];
            const call = tileCall(
              rows,
              cols,
              { o: k0 + i0 * py + 4 * c0, a: x0 + 4 * i0, b: dy0 + 4 * c0 },
              outer,
              walk,
              4,
              py,
            );
            if (call) calls.push(call);
          }
      }
    }
  }
  return calls;
}

function forwardOf(info: tf.backend_util.Conv2DInfo, groups: number): Forward {
  return {
    batch: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
    cin: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    cout: info.outChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: info.dilationHeight,
    dw: info.dilationWidth,
    groups,
  };
}

function checkFloat(...ts: tf.TensorInfo[]): void {
  for (const t of ts)
    if (t.dtype !== "float32")
      throw new Error(`${GroupedConv2D}: float32 tensors only, got ${t.dtype}`);
}

function forwardKernel(args: Args): tf.TensorInfo {
  const backend = args.backend as tf.KernelBackend;
  const { x, filter } = args.inputs as Record<"x" | "filter", tf.TensorInfo>;
  const attrs = args.attrs as unknown as GroupedConv2DAttrs;
  checkFloat(x, filter);
  const info = infoFor(x.shape, filter.shape as Shape4, attrs);
  needSimd(backend);
  const out = wasmHeap(backend).makeOutput(info.outShape, "float32");
  zeroOut(backend, out);
  if (info.batchSize * info.outHeight * info.outWidth * info.outChannels === 0) return out;
  const heap = wasmHeap(backend);
  const [kh, kw, gi, cout] = filter.shape as Shape4;
  const packed = heap.makeOutput(
    [...filter.shape],
    "float32",
    undefined,
    packKernel(heap.typedArrayFromHeap(filter), kh * kw, gi, cout, attrs.groups),
  );
  try {
    const calls = forwardTiles(
      forwardOf(info, attrs.groups),
      addressOf(backend, out),
      addressOf(backend, x),
      addressOf(backend, packed),
    );
    runJob(backend, independentJob(calls, poolThreads(backend), GroupedConv2D));
  } finally {
    backend.disposeData(packed.dataId);
  }
  return out;
}

/**
 * k [kh, kw, gi, g*go] flipped in both spatial axes with each group's in and out channels
 * swapped: [kh, kw, go, g*gi], so the input gradient is a forward grouped convolution.
 */
export function flippedPerGroup(k: Float32Array, shape: Shape4, groups: number): Float32Array {
  const [kh, kw, gi, cout] = shape;
  const go = cout / groups;
  const cin = gi * groups;
  const out = new Float32Array(k.length);
  const taps = kh * kw;
  for (let t = 0; t < taps; t++) {
    const from = t * gi * cout;
    const to = (taps - 1 - t) * go * cin;
    for (let g = 0; g < groups; g++)
      for (let i = 0; i < gi; i++)
        for (let j = 0; j < go; j++)
          out[to + j * cin + g * gi + i] = k[from + i * cout + g * go + j]!;
  }
  return out;
}

function inputGradKernel(args: Args): tf.TensorInfo {
  const backend = args.backend as tf.KernelBackend;
  const { dy, filter } = args.inputs as Record<"dy" | "filter", tf.TensorInfo>;
  const attrs = args.attrs as unknown as GroupedConv2DAttrs & { inputShape: Shape4 };
  checkFloat(dy, filter);
  const shape = filter.shape as Shape4;
  const info = infoFor(attrs.inputShape, shape, attrs);
  needSimd(backend);
  const heap = wasmHeap(backend);
  const dx = heap.makeOutput([...attrs.inputShape], "float32");
  zeroOut(backend, dx);
  if (info.batchSize * info.outHeight * info.outWidth * info.inChannels === 0) return dx;
  const go = shape[3] / attrs.groups;
  const flipped = heap.makeOutput(
    [shape[0], shape[1], go, info.inChannels],
    "float32",
    undefined,
    packKernel(
      flippedPerGroup(heap.typedArrayFromHeap(filter), shape, attrs.groups),
      shape[0] * shape[1],
      go,
      info.inChannels,
      attrs.groups,
    ),
  );
  try {
    withTensors(backend, [dy], ([dyIn]) => {
      // The spread (stride > 1) and the crop (explicit pads beyond the filter) are tensors;
      // the pads around them are read as zeros by forwardTiles.
      const laid = tf.tidy(() => spreadForInputGradient(dyIn as tf.Tensor4D, info));
      if (!laid) return;
      try {
        const [, h, w] = laid.spread.shape;
        const calls = forwardTiles(
          {
            batch: info.batchSize,
            h,
            w,
            top: laid.pads[0][0],
            left: laid.pads[1][0],
            cin: info.outChannels,
            outHeight: info.inHeight,
            outWidth: info.inWidth,
            cout: info.inChannels,
            kh: info.filterHeight,
            kw: info.filterWidth,
            sh: 1,
            sw: 1,
            dh: info.dilationHeight,
            dw: info.dilationWidth,
            groups: attrs.groups,
          },
          addressOf(backend, dx),
          addressOf(backend, laid.spread),
          addressOf(backend, flipped),
        );
        runJob(backend, independentJob(calls, poolThreads(backend), GroupedConv2DBackpropInput));
      } finally {
        if (laid.spread !== dyIn) laid.spread.dispose();
      }
    });
  } finally {
    backend.disposeData(flipped.dataId);
  }
  return dx;
}

function filterGradKernel(args: Args): tf.TensorInfo {
  const backend = args.backend as tf.KernelBackend;
  const { x, dy } = args.inputs as Record<"x" | "dy", tf.TensorInfo>;
  const attrs = args.attrs as unknown as GroupedConv2DAttrs & { filterShape: Shape4 };
  checkFloat(x, dy);
  const info = infoFor(x.shape, attrs.filterShape, attrs);
  needSimd(backend);
  const heap = wasmHeap(backend);
  const dk = heap.makeOutput([...attrs.filterShape], "float32");
  zeroOut(backend, dk);
  if (info.batchSize * info.outHeight * info.outWidth === 0) return dk;
  const f = forwardOf(info, attrs.groups);
  const blocks = rowBlocks(f);
  // Every block sums into all of dk, so each task sums its blocks into a copy of its own.
  const tasks = Math.min(blocks.length, TASKS_PER_THREAD * poolThreads(backend));
  const dkSize = attrs.filterShape.reduce((a, b) => a * b, 1);
  const copies =
    tasks > 1 ? heap.makeOutput([tasks - 1, ...attrs.filterShape], "float32") : undefined;
  try {
    if (copies) zeroOut(backend, copies);
    const calls: Call[] = [];
    const bounds = [0];
    for (let t = 0; t < tasks; t++) {
      const mine = blocks.slice(
        Math.floor((t * blocks.length) / tasks),
        Math.floor(((t + 1) * blocks.length) / tasks),
      );
      const dkAt =
        t === 0 ? addressOf(backend, dk) : addressOf(backend, copies!) + 4 * dkSize * (t - 1);
      filterTiles(f, mine, dkAt, addressOf(backend, x), addressOf(backend, dy), calls);
      bounds.push(calls.length);
    }
    runJob(backend, {
      calls,
      grid: tasks > 1 ? [{ kind: "calls", bounds }] : [],
      kernel: GroupedConv2DBackpropFilter,
    });
    if (copies)
      simdFor(backend)!.sums(
        addressOf(backend, dk),
        addressOf(backend, copies),
        dkSize,
        tasks - 1,
        0,
        4 * dkSize,
      );
  } finally {
    if (copies) backend.disposeData(copies.dataId);
  }
  return dk;
}

export const groupedConv2dConfig: tf.KernelConfig = {
  kernelName: GroupedConv2D,
  backendName: "wasm",
  kernelFunc: forwardKernel as tf.KernelFunc,
};
export const groupedConv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: GroupedConv2DBackpropInput,
  backendName: "wasm",
  kernelFunc: inputGradKernel as tf.KernelFunc,
};
export const groupedConv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: GroupedConv2DBackpropFilter,
  backendName: "wasm",
  kernelFunc: filterGradKernel as tf.KernelFunc,
};

export const groupedConv2dGradient: tf.GradConfig = {
  kernelName: GroupedConv2D,
  inputsToSave: ["x", "filter"],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as tf.Tensor4D[];
    const a = attrs as unknown as GroupedConv2DAttrs;
    const shared = {
      strides: a.strides,
      pad: a.pad,
      dilations: a.dilations,
      groups: a.groups,
      ...(a.dimRoundingMode !== undefined && { dimRoundingMode: a.dimRoundingMode }),
    };
    return {
      x: () =>
        tf
          .engine()
          .runKernel(GroupedConv2DBackpropInput, { dy: dy as tf.Tensor, filter: filter! }, {
            ...shared,
            inputShape: x!.shape,
          } as unknown as tf.NamedAttrMap) as tf.Tensor,
      filter: () =>
        tf.engine().runKernel(GroupedConv2DBackpropFilter, { x: x!, dy: dy as tf.Tensor }, {
          ...shared,
          filterShape: filter!.shape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
    };
  },
};

/** Whether the native kernels can run on the active backend (wasm, with SIMD). */
export function groupedConv2dAvailable(): boolean {
  return (
    tf.getBackend() === "wasm" &&
    tf.getKernel(GroupedConv2D, "wasm") !== undefined &&
    groupedFor(tf.backend()) !== undefined
  );
}

/** The grouped convolution of x [n, h, w, groups*gi] with kernel [kh, kw, gi, cout]. */
export function groupedConv2dNative(
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  attrs: GroupedConv2DAttrs,
): tf.Tensor4D {
  return tf
    .engine()
    .runKernel(
      GroupedConv2D,
      { x, filter: kernel },
      attrs as unknown as tf.NamedAttrMap,
    ) as tf.Tensor4D;
}
