import * as tf from "@tensorflow/tfjs";

// Shared plumbing for the composite wasm training kernels: moving between the
// kernel boundary (TensorInfo) and ordinary tf ops, and the geometry that the two
// filter gradients share.

/** The spatial geometry of one 2-D convolution, independent of data layout. */
export interface ConvGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padTop: number;
  padLeft: number;
}

type ConvInfoArgs = Parameters<typeof tf.backend_util.computeConv2DInfo>;

/** The attributes tfjs' convolution kernels and their gradients share. */
export interface ConvAttrs {
  strides: ConvInfoArgs[2];
  dilations?: ConvInfoArgs[3];
  pad: ConvInfoArgs[4];
  dimRoundingMode?: ConvInfoArgs[5];
  dataFormat?: string;
}

/**
 * tfjs' Conv2DInfo for x (or the input shape a gradient rebuilds) and a filter, as the kernel's
 * attributes give them: dilation 1 where a kernel has none, NCHW only where dataFormat says so.
 */
export function convInfo(
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: ConvAttrs,
  depthwise = false,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
    attrs.dataFormat === "NCHW" ? "channelsFirst" : "channelsLast",
  );
}

export function geometryOf(info: tf.backend_util.Conv2DInfo): ConvGeometry {
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight,
    dilationWidth: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/**
 * Kernels receive the engine's own Tensor objects; a bare TensorInfo (a backend
 * calling the kernel function directly) gets a wrapper that holds its own
 * reference, so disposing the wrapper leaves the caller's data alone.
 */
export function withTensors<T>(
  backend: tf.KernelBackend,
  infos: readonly tf.TensorInfo[],
  body: (tensors: tf.Tensor[]) => T,
): T {
  const wrappers: tf.Tensor[] = [];
  const tensors = infos.map((info) => {
    if (info instanceof tf.Tensor) return info;
    backend.incRef(info.dataId);
    const t = tf.engine().makeTensorFromTensorInfo(info, backend);
    wrappers.push(t);
    return t;
  });
  try {
    return body(tensors);
  } finally {
    for (const w of wrappers) w.dispose();
  }
}

/**
 * Turns a tensor computed inside a kernel into the kernel's output. The engine
 * wraps the returned TensorInfo in a fresh Tensor without taking a reference, so
 * the reference held by `t` is handed over and `t` itself is retired.
 */
export function handOff(t: tf.Tensor, backend: tf.KernelBackend): tf.TensorInfo {
  backend.incRef(t.dataId);
  const out: tf.TensorInfo = { dataId: t.dataId, shape: t.shape.slice(), dtype: t.dtype };
  t.dispose();
  return out;
}

/**
 * Explicit [top, bottom] and [left, right] pads for recovering a filter gradient
 * by correlating the input with dy used as the filter. The top/left pads are the
 * forward ones; the bottom/right ones reach only as far as the last output does
 * (TF 'same' puts its extra pad there, and 'ceil' rounding can reach beyond it),
 * so the correlation yields at least filterHeight x filterWidth taps.
 */
export function filterGradPads(g: ConvGeometry): [[number, number], [number, number]] {
  const needH = (g.outHeight - 1) * g.strideHeight + (g.filterHeight - 1) * g.dilationHeight + 1;
  const needW = (g.outWidth - 1) * g.strideWidth + (g.filterWidth - 1) * g.dilationWidth + 1;
  return [
    [g.padTop, Math.max(0, needH - g.padTop - g.inHeight)],
    [g.padLeft, Math.max(0, needW - g.padLeft - g.inWidth)],
  ];
}

/** Keeps the first filterHeight x filterWidth taps of a [*, H, W, *] correlation. */
export function firstTaps(t: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  const [a, h, w, c] = t.shape;
  if (h === g.filterHeight && w === g.filterWidth) return t;
  return tf.slice(t, [0, 0, 0, 0], [a, g.filterHeight, g.filterWidth, c]);
}

/**
 * dy laid out for a transposed convolution (an input gradient computed as a forward
 * convolution with the spatially flipped filter): spread by the stride (dy[oh] lands
 * on row oh*stride, zeros between), cropped where explicit pads reach beyond the
 * filter, and the [top, bottom], [left, right] pads that the stride-1 correlation
 * (with the forward dilation) then needs to give an inHeight x inWidth result.
 * Undefined when no dy row reaches the input.
 */
export function spreadForInputGradient(
  dy: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
): { spread: tf.Tensor4D; pads: [[number, number], [number, number]] } | undefined {
  const [batch, outHeight, outWidth, channels] = dy.shape;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  let spread: tf.Tensor4D = dy;
  if (sh > 1 || sw > 1) {
    const holes = tf.pad(tf.reshape(dy, [batch, outHeight, 1, outWidth, 1, channels]), [
      [0, 0],
      [0, 0],
      [0, sh - 1],
      [0, 0],
      [0, sw - 1],
      [0, 0],
    ]);
    spread = tf.reshape(holes, [batch, outHeight * sh, outWidth * sw, channels]);
  }
  // dx[h] = sum_k spread[h + top - k*d] * w[k]; with k' = K-1-k this is a plain
  // correlation of the flipped filter with spread shifted by (K-1)*d - top.
  // A negative shift (explicit pads beyond the filter reach) is a crop instead.
  const fit = (len: number, shift: number, want: number): [number, number, number, number] => {
    const cropStart = Math.max(0, -shift);
    const padStart = Math.max(0, shift);
    const end = want - padStart + cropStart; // rows of spread that are used
    const cropEnd = Math.max(0, len - end);
    const padEnd = Math.max(0, end - len);
    return [cropStart, padStart, len - cropStart - cropEnd, padEnd];
  };
  const [cropTop, padTop, keepH, padBottom] = fit(
    spread.shape[1],
    (info.filterHeight - 1) * dh - info.padInfo.top,
    info.inHeight + (info.filterHeight - 1) * dh,
  );
  const [cropLeft, padLeft, keepW, padRight] = fit(
    spread.shape[2],
    (info.filterWidth - 1) * dw - info.padInfo.left,
    info.inWidth + (info.filterWidth - 1) * dw,
  );
  if (keepH <= 0 || keepW <= 0) return undefined;
  if (cropTop > 0 || cropLeft > 0 || keepH < spread.shape[1] || keepW < spread.shape[2]) {
    spread = tf.slice(spread, [0, cropTop, cropLeft, 0], [batch, keepH, keepW, channels]);
  }
  return {
    spread,
    pads: [
      [padTop, padBottom],
      [padLeft, padRight],
    ],
  };
}

/**
 * A wasm kernel in place of `theirs`, wasm's own: it keeps theirs' setup (which binds wasm's
 * C functions when the backend starts), and `kernelFunc` hands back to theirs the cases it
 * does not take.
 */
export function replacing(theirs: tf.KernelConfig, kernelFunc: tf.KernelFunc): tf.KernelConfig {
  return {
    kernelName: theirs.kernelName,
    backendName: "wasm",
    ...(theirs.setupFunc ? { setupFunc: theirs.setupFunc } : {}),
    kernelFunc,
  };
}

/** Output rows [lo, hi) whose input row for filter row kh is inside the input. */
export function rowsInside(g: ConvGeometry, kh: number): [number, number] {
  const shift = kh * g.dilationHeight - g.padTop;
  const lo = Math.max(0, Math.ceil(-shift / g.strideHeight));
  const hi = Math.min(g.outHeight, Math.floor((g.inHeight - 1 - shift) / g.strideHeight) + 1);
  return [lo, hi];
}

/** Output columns [lo, hi) whose input column for filter column kw is inside the input. */
export function columnsInside(g: ConvGeometry, kw: number): [number, number] {
  const shift = kw * g.dilationWidth - g.padLeft;
  const lo = Math.max(0, Math.ceil(-shift / g.strideWidth));
  const hi = Math.min(g.outWidth, Math.floor((g.inWidth - 1 - shift) / g.strideWidth) + 1);
  return [lo, hi];
}

/**
 * A filter tap and the box of output pixels whose input pixel under it lies inside the input:
 * rows [oh0, oh1), columns [ow0, ow1), the first of them reading input pixel (ih, iw). Kernels
 * that walk taps over the valid box read padding as zeros without materialising it.
 */
export interface TapBox {
  readonly kh: number;
  readonly kw: number;
  readonly oh0: number;
  readonly oh1: number;
  readonly ow0: number;
  readonly ow1: number;
  readonly ih: number;
  readonly iw: number;
}

/**
 * Every tap whose box is not empty, rows of taps in ascending order or (`descendingRows`) from
 * the last filter row: the order sets the order of a kernel's sums, which its results keep.
 */
export function tapBoxes(g: ConvGeometry, descendingRows = false): TapBox[] {
  const boxes: TapBox[] = [];
  for (let i = 0; i < g.filterHeight; i++) {
    const kh = descendingRows ? g.filterHeight - 1 - i : i;
    const [oh0, oh1] = rowsInside(g, kh);
    if (oh1 <= oh0) continue;
    const ih = oh0 * g.strideHeight - g.padTop + kh * g.dilationHeight;
    for (let kw = 0; kw < g.filterWidth; kw++) {
      const [ow0, ow1] = columnsInside(g, kw);
      if (ow1 <= ow0) continue;
      const iw = ow0 * g.strideWidth - g.padLeft + kw * g.dilationWidth;
      boxes.push({ kh, kw, oh0, oh1, ow0, ow1, ih, iw });
    }
  }
  return boxes;
}
