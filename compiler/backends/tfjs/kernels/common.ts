import * as tf from "@tensorflow/tfjs";

/**
 * Shared plumbing for the composite wasm training kernels: moving between the
 * kernel boundary (TensorInfo) and ordinary tf ops, and the tap geometry that the
 * filter gradients share.
 */

/** The padded-input geometry of one 2-D convolution, NHWC. */
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
 * Zero-pads x (NHWC) so that every filter tap's strided window is in range: the
 * top/left pads come from the conv geometry, the bottom/right ones only as far as
 * the last output actually reaches (TF 'same' puts its extra pad there, and a
 * 'ceil' rounding mode can reach past it).
 */
export function padForTaps(x: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  const needH = (g.outHeight - 1) * g.strideHeight + (g.filterHeight - 1) * g.dilationHeight + 1;
  const needW = (g.outWidth - 1) * g.strideWidth + (g.filterWidth - 1) * g.dilationWidth + 1;
  const bottom = Math.max(0, needH - g.padTop - g.inHeight);
  const right = Math.max(0, needW - g.padLeft - g.inWidth);
  if (g.padTop === 0 && g.padLeft === 0 && bottom === 0 && right === 0) return x;
  return tf.pad(x, [
    [0, 0],
    [g.padTop, bottom],
    [g.padLeft, right],
    [0, 0],
  ]);
}

/** The input pixels that filter tap (kh, kw) meets, one per output position: [B, OH, OW, C]. */
export function tapWindow(xp: tf.Tensor4D, g: ConvGeometry, kh: number, kw: number): tf.Tensor4D {
  const h0 = kh * g.dilationHeight;
  const w0 = kw * g.dilationWidth;
  const c = xp.shape[3];
  if (g.strideHeight === 1 && g.strideWidth === 1) {
    return tf.slice(xp, [0, h0, w0, 0], [g.batch, g.outHeight, g.outWidth, c]);
  }
  return tf.stridedSlice(
    xp,
    [0, h0, w0, 0],
    [
      g.batch,
      h0 + (g.outHeight - 1) * g.strideHeight + 1,
      w0 + (g.outWidth - 1) * g.strideWidth + 1,
      c,
    ],
    [1, g.strideHeight, g.strideWidth, 1],
  ) as tf.Tensor4D;
}

/**
 * Splits the filter taps into groups whose stacked windows stay under a memory
 * cap, so that large inputs don't materialise a full im2col matrix at once.
 */
export function tapGroups(g: ConvGeometry, floatsPerTap: number, capFloats: number): number[][] {
  const taps = g.filterHeight * g.filterWidth;
  const perGroup = Math.max(1, Math.min(taps, Math.floor(capFloats / Math.max(1, floatsPerTap))));
  const groups: number[][] = [];
  for (let start = 0; start < taps; start += perGroup) {
    const group: number[] = [];
    for (let t = start; t < Math.min(taps, start + perGroup); t++) group.push(t);
    groups.push(group);
  }
  return groups;
}
