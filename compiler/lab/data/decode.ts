import sharp from "sharp";
import { viewSample, type SampleView } from "./augment.js";
import type { ImageExt } from "./sources.js";

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
 * A JPEG or PNG as sRGB: EXIF orientation applied, alpha dropped; truncated or damaged files
 * fail (failOn "warning") rather than train half-decoded.
 */
async function encodedPixels(bytes: Uint8Array): Promise<Pixels> {
  const { data, info } = await sharp(bytes, { failOn: "warning" })
    .rotate()
    .removeAlpha()
    .toColourspace("srgb")
    .raw({ depth: "uchar" })
    .toBuffer({ resolveWithObject: true });
  return { data, h: info.height, w: info.width, c: 3 };
}

/** Stretched to h x w ("fill", as the image folders and torchvision's Resize((h, w)) do). */
async function resized(p: Pixels, h: number, w: number): Promise<Pixels> {
  if (p.h === h && p.w === w) return p;
  const data = await sharp(p.data, { raw: { width: p.w, height: p.h, channels: p.c } })
    .resize(w, h, { fit: "fill" })
    .raw({ depth: "uchar" })
    .toBuffer();
  return { data, h, w, c: p.c };
}

/**
 * Gray to gray and RGB to RGB are the value over 255; gray to RGB repeats it; RGB to gray is
 * PIL's convert("L") luma, in double precision before the division.
 */
function toChannels(d: ArrayLike<number>, from: 1 | 3, c: number, count: number): Float32Array {
  const out = new Float32Array(count);
  if (from === c) for (let i = 0; i < out.length; i++) out[i] = d[i]! / 255;
  else if (c === 3) for (let i = 0; i < out.length; i++) out[i] = d[Math.floor(i / 3)]! / 255;
  else
    for (let i = 0; i < out.length; i++)
      out[i] = (0.299 * d[3 * i]! + 0.587 * d[3 * i + 1]! + 0.114 * d[3 * i + 2]!) / 255;
  return out;
}

/**
 * One sample's encoded image as h*w*c floats in [0, 1], the network's input: stretched to h x w,
 * or, with a view, the view's box of the full-size image resized to h x w (augment.ts). runner.py's
 * decode_sample does the same arithmetic, so both engines see the same numbers where no
 * stretch is needed, and within rounding where one is.
 */
export async function decodeSample(
  bytes: Uint8Array,
  ext: ImageExt,
  shape: readonly [number, number, number],
  view?: { readonly view: SampleView; readonly sample: number },
): Promise<Float32Array> {
  const [h, w, c] = shape;
  const raw = ext === "pgm" || ext === "ppm" ? netpbmPixels(bytes) : await encodedPixels(bytes);
  if (view) {
    const px = viewSample(view.view, view.sample, raw.data, raw.h, raw.w, raw.c, h, w);
    return toChannels(px, raw.c, c, h * w * c);
  }
  const p = await resized(raw, h, w);
  return toChannels(p.data, p.c, c, h * w * c);
}
