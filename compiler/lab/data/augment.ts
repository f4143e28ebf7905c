import type { Augment } from "../../language/config/train.js";
import { deriveSeed } from "../train/data/random.js";

/**
 * What a sample is made into before it reaches the network: in training, a crop drawn from
 * (seed, epoch, sample) by the config's `augment`; in evaluation, the centre `eval_crop` of it.
 * runner.py's crop_box and crop_resize are the same algorithm, line for line: change both.
 */
export type View =
  | { readonly kind: "augment"; readonly augment: Augment }
  | { readonly kind: "centre"; readonly fraction: number };

/** A sample's view with what the training crop is drawn from. */
export type SampleView =
  | {
      readonly kind: "augment";
      readonly augment: Augment;
      readonly seed: number;
      readonly epoch: number;
    }
  | { readonly kind: "centre"; readonly fraction: number };

/** Rows top..top+h and columns left..left+w of the source, mirrored afterwards when `flip`. */
export interface Box {
  readonly top: number;
  readonly left: number;
  readonly h: number;
  readonly w: number;
  readonly flip: boolean;
}

/** Keeps the crop draws apart from every other use of the run's seed (orders, hold-outs). */
const augmentStream = 0x61756721;
const TWO32 = 4294967296;
/** torchvision tries this many random boxes before falling back to a centre crop. */
const attempts = 10;

/**
 * Draw `k` of sample `sample` in epoch `epoch`: a counter-based hash of the five numbers, so a
 * sample's crop depends on nothing else (not the worker, the rank, the batch or where a run
 * resumed), uniform in [0, 1).
 */
function draw(seed: number, epoch: number, sample: number, k: number): number {
  return deriveSeed(seed, augmentStream, epoch, sample, k) / TWO32;
}

/** Half up, written out: Python's round() rounds half to even. */
const round = (x: number): number => Math.floor(x + 0.5);

/**
 * The box of sample `sample` for a source image of H x W and an output of oh x ow.
 * Training: torchvision's RandomResizedCrop.get_params (area fraction uniform in `scale`, log
 * aspect ratio uniform in log `ratio`, 10 attempts, then the centre crop clamped to `ratio`),
 * with the draws taken from the counter-based hash; then a flip with probability 1/2.
 * Evaluation: the largest centred box with the output's aspect ratio, times `fraction` by side.
 */
export function cropBox(
  view: SampleView,
  sample: number,
  H: number,
  W: number,
  oh: number,
  ow: number,
): Box {
  if (view.kind === "centre") {
    const s = Math.min(H / oh, W / ow);
    const h = Math.min(H, Math.max(1, round(view.fraction * oh * s)));
    const w = Math.min(W, Math.max(1, round(view.fraction * ow * s)));
    return { top: Math.floor((H - h) / 2), left: Math.floor((W - w) / 2), h, w, flip: false };
  }
  const { seed, epoch, augment: a } = view;
  const u = (k: number) => draw(seed, epoch, sample, k);
  const flip = a.flip && u(4 * attempts) < 0.5;
  const area = H * W;
  const [logLo, logHi] = [Math.log(a.ratio[0]), Math.log(a.ratio[1])];
  for (let t = 0; t < attempts; t++) {
    const target = area * (a.scale[0] + u(4 * t) * (a.scale[1] - a.scale[0]));
    const aspect = Math.exp(logLo + u(4 * t + 1) * (logHi - logLo));
    const w = round(Math.sqrt(target * aspect));
    const h = round(Math.sqrt(target / aspect));
    if (w > 0 && w <= W && h > 0 && h <= H) {
      const top = Math.floor(u(4 * t + 2) * (H - h + 1));
      const left = Math.floor(u(4 * t + 3) * (W - w + 1));
      return { top, left, h, w, flip };
    }
  }
  let [h, w] = [H, W];
  if (W / H < a.ratio[0]) h = round(W / a.ratio[0]);
  else if (W / H > a.ratio[1]) w = round(H * a.ratio[1]);
  return { top: Math.floor((H - h) / 2), left: Math.floor((W - w) / 2), h, w, flip };
}

/**
 * Where output index d samples an input of n along one axis: torch's bilinear with
 * align_corners=False (half-pixel centres, clamped at 0, no antialiasing), in float32 as torch
 * computes it, so that both engines take the same pixels with the same weights.
 */
function taps(n: number, out: number): { i0: Int32Array; i1: Int32Array; l1: Float64Array } {
  const scale = Math.fround(n / out);
  const i0 = new Int32Array(out);
  const i1 = new Int32Array(out);
  const l1 = new Float64Array(out);
  for (let d = 0; d < out; d++) {
    const src = Math.max(0, Math.fround(Math.fround(scale * (d + 0.5)) - 0.5));
    const lo = Math.floor(src);
    i0[d] = lo;
    i1[d] = lo < n - 1 ? lo + 1 : lo;
    l1[d] = Math.fround(src - lo);
  }
  return { i0, i1, l1 };
}

/**
 * The box of an H x W x C image (rows of interleaved channels) resized to oh x ow x C by
 * bilinear interpolation (torch.nn.functional.interpolate, mode "bilinear",
 * align_corners=False, antialias off), then mirrored left to right when the box says so.
 * Values keep the source's units.
 */
export function cropResize(
  src: ArrayLike<number>,
  W: number,
  C: number,
  box: Box,
  oh: number,
  ow: number,
): Float64Array {
  const ys = taps(box.h, oh);
  const xs = taps(box.w, ow);
  const out = new Float64Array(oh * ow * C);
  for (let y = 0; y < oh; y++) {
    const r0 = (box.top + ys.i0[y]!) * W;
    const r1 = (box.top + ys.i1[y]!) * W;
    const ly1 = ys.l1[y]!;
    const ly0 = 1 - ly1;
    for (let x = 0; x < ow; x++) {
      const c0 = box.left + xs.i0[x]!;
      const c1 = box.left + xs.i1[x]!;
      const lx1 = xs.l1[x]!;
      const lx0 = 1 - lx1;
      const to = (y * ow + (box.flip ? ow - 1 - x : x)) * C;
      for (let c = 0; c < C; c++) {
        const top = lx0 * src[(r0 + c0) * C + c]! + lx1 * src[(r0 + c1) * C + c]!;
        const bottom = lx0 * src[(r1 + c0) * C + c]! + lx1 * src[(r1 + c1) * C + c]!;
        out[to + c] = ly0 * top + ly1 * bottom;
      }
    }
  }
  return out;
}

/** The view of one sample of an H x W x C image, as oh x ow x C values in the source's units. */
export function viewSample(
  view: SampleView,
  sample: number,
  src: ArrayLike<number>,
  H: number,
  W: number,
  C: number,
  oh: number,
  ow: number,
): Float64Array {
  return cropResize(src, W, C, cropBox(view, sample, H, W, oh, ow), oh, ow);
}

/** The per-sample view of an epoch's view. */
export function sampleView(view: View, seed: number, epoch: number): SampleView {
  return view.kind === "augment" ? { ...view, seed, epoch } : view;
}

/** A config's views: the training crop (each epoch) and the evaluation crop, where set. */
export function configViews(config: { augment?: Augment; evalCrop?: number }): {
  train?: View;
  eval?: View;
} {
  return {
    ...(config.augment ? { train: { kind: "augment", augment: config.augment } as const } : {}),
    ...(config.evalCrop !== undefined
      ? { eval: { kind: "centre", fraction: config.evalCrop } as const }
      : {}),
  };
}
