import { readFileSync } from "node:fs";
import sharp from "sharp";
import { viewSample, type SampleView } from "./augment.js";
import { bilinearResize } from "./bilinear.js";
import { readAt } from "./locate.js";
import { sniffImage, type ImageExt } from "./sources.js";

/** Where one sample's encoded image lies. */
export interface SampleSource {
  readonly path: string;
  /**
   * A shard's member: its bytes at `offset`, `size` long, in format `ext`. Absent: the whole
   * file (an image folder's), its format read from its first bytes.
   */
  readonly at?: { readonly offset: number; readonly size: number; readonly ext: ImageExt };
  /** The sample's number, which a view's draws are keyed by. */
  readonly sample: number;
}

/**
 * Reads and decodes one sample into `out` (h*w*c floats): what a decoding thread does with each
 * sample it claims, and the calling thread with --workers 0.
 */
export async function decodeSource(
  s: SampleSource,
  shape: readonly [number, number, number],
  view: SampleView | undefined,
  out: Float32Array<ArrayBufferLike>,
): Promise<void> {
  const bytes = s.at ? readAt(s.path, s.at.offset, s.at.size) : readFileSync(s.path);
  const ext = s.at?.ext ?? sniffImage(bytes);
  if (!ext) throw new Error("not a JPEG or PNG file (by its first bytes)");
  await decodeSample(bytes, ext, shape, view ? { view, sample: s.sample } : undefined, out);
}

/** Raw 8-bit pixels, h x w x channels (1 or 3). */
interface Pixels {
  readonly data: Uint8Array;
  readonly h: number;
  readonly w: number;
  readonly c: 1 | 3;
}

/** A binary PGM/PPM as `data pack` writes it (IDX pixels): header, then the bytes. */
function netpbmPixels(bytes: Uint8Array): Pixels {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 64)).toString(
    "latin1",
  );
  const m = /^(P[56])\s+(\d+)\s+(\d+)\s+255\s/.exec(head);
  if (!m) throw new Error("not a binary PGM/PPM image with 8-bit samples");
  const [w, h, c] = [Number(m[2]), Number(m[3]), m[1] === "P5" ? 1 : 3] as const;
  const data = bytes.subarray(m[0].length);
  if (data.length < w * h * c) throw new Error(`holds ${data.length} bytes for ${w}x${h}x${c}`);
  return { data: data.subarray(0, w * h * c), h, w, c };
}

/**
 * Shrinks to `size` ("fill", as torchvision's Resize((h, w))) in sharp's pipeline, with the
 * linear kernel: libvips' linear reduce is PIL's antialiased bilinear (its support grows with the
 * shrink), so the result is torchvision's default Resize within rounding. An axis that must grow
 * is left at its size (withoutEnlargement) for `enlarged`: libvips enlarges with another
 * pixel-centre convention than PIL's.
 */
function shrinkTo(image: sharp.Sharp, size: { h: number; w: number }): sharp.Sharp {
  return image.resize(size.w, size.h, { fit: "fill", kernel: "linear", withoutEnlargement: true });
}

/** The axes `shrinkTo` left short of h x w grown to it, as PIL's bilinear does. */
function enlarged(p: Pixels, h: number, w: number): Pixels {
  if (p.h === h && p.w === w) return p;
  return { data: bilinearResize(p.data, p.h, p.w, p.c, h, w), h, w, c: p.c };
}

/**
 * A JPEG or PNG as sRGB: EXIF orientation applied, alpha dropped; truncated or damaged files
 * fail (failOn "warning") rather than train half-decoded. With `size`, stretched to it, shrinking
 * in the same pipeline: one decode with no full-size buffer handed back and forth, and libjpeg's
 * shrink-on-load where the photo is at least twice the size, as runner.py's `draft` does.
 */
async function encodedPixels(bytes: Uint8Array, size?: { h: number; w: number }): Promise<Pixels> {
  let image = sharp(bytes, { failOn: "warning" }).rotate();
  if (size) image = shrinkTo(image, size);
  const { data, info } = await image
    .removeAlpha()
    .toColourspace("srgb")
    .raw({ depth: "uchar" })
    .toBuffer({ resolveWithObject: true });
  const p: Pixels = { data, h: info.height, w: info.width, c: 3 };
  return size ? enlarged(p, size.h, size.w) : p;
}

/** Stretched to h x w ("fill", as the image folders and torchvision's Resize((h, w)) do). */
async function resized(p: Pixels, h: number, w: number): Promise<Pixels> {
  if (p.h === h && p.w === w) return p;
  const { data, info } = await shrinkTo(
    sharp(p.data, { raw: { width: p.w, height: p.h, channels: p.c } }),
    { h, w },
  )
    .raw({ depth: "uchar" })
    .toBuffer({ resolveWithObject: true });
  return enlarged({ data, h: info.height, w: info.width, c: p.c }, h, w);
}

/** Each byte's value over 255 as a float32: the same number as the division, without it. */
const byteFloats = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/**
 * Gray to gray and RGB to RGB are the value over 255; gray to RGB repeats it; RGB to gray is
 * PIL's convert("L") luma, in double precision before the division. Written into `out` (a batch's
 * slot), so that no sample has an array of its own to allocate, post and copy again. Bytes (the
 * stretch) and doubles (a view's interpolation) have a loop each, so that each stays monomorphic:
 * this is a loader's hottest loop after the decoder's own.
 */
function bytesToChannels(
  d: Uint8Array,
  from: 1 | 3,
  out: Float32Array<ArrayBufferLike>,
  c: number,
) {
  if (from === c) for (let i = 0; i < out.length; i++) out[i] = byteFloats[d[i]!]!;
  else if (c === 3) for (let i = 0; i < out.length; i++) out[i] = byteFloats[d[(i / 3) | 0]!]!;
  else luma(d, out);
}

function valuesToChannels(
  d: Float64Array,
  from: 1 | 3,
  out: Float32Array<ArrayBufferLike>,
  c: number,
) {
  if (from === c) for (let i = 0; i < out.length; i++) out[i] = d[i]! / 255;
  else if (c === 3) for (let i = 0; i < out.length; i++) out[i] = d[(i / 3) | 0]! / 255;
  else luma(d, out);
}

function luma(d: ArrayLike<number>, out: Float32Array<ArrayBufferLike>) {
  for (let i = 0; i < out.length; i++)
    out[i] = (0.299 * d[3 * i]! + 0.587 * d[3 * i + 1]! + 0.114 * d[3 * i + 2]!) / 255;
}

/**
 * One sample's encoded image as h*w*c floats in [0, 1], the network's input, written into `out`
 * (h*w*c long; a new array where none is given): stretched to h x w, or, with a view, the view's
 * box of the full-size image resized to h x w (augment.ts). runner.py's decode_sample does the
 * same arithmetic, so both engines see the same numbers where no stretch is needed, and within
 * rounding where one is.
 */
export async function decodeSample(
  bytes: Uint8Array,
  ext: ImageExt,
  shape: readonly [number, number, number],
  view?: { readonly view: SampleView; readonly sample: number },
  out: Float32Array<ArrayBufferLike> = new Float32Array(shape[0] * shape[1] * shape[2]),
): Promise<Float32Array<ArrayBufferLike>> {
  const [h, w, c] = shape;
  if (out.length !== h * w * c) throw new Error(`${out.length} floats cannot hold ${h}x${w}x${c}`);
  if (view) {
    const raw = ext === "pgm" || ext === "ppm" ? netpbmPixels(bytes) : await encodedPixels(bytes);
    const px = viewSample(view.view, view.sample, raw.data, raw.h, raw.w, raw.c, h, w);
    valuesToChannels(px, raw.c, out, c);
    return out;
  }
  const p =
    ext === "pgm" || ext === "ppm"
      ? await resized(netpbmPixels(bytes), h, w)
      : await encodedPixels(bytes, { h, w });
  bytesToChannels(p.data, p.c, out, c);
  return out;
}
