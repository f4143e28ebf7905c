/**
 * PIL's bilinear resample (Image.resize(..., BILINEAR), which torchvision's Resize calls on PIL
 * images): a triangle filter whose support grows with the shrink factor (antialiased), centred
 * on each output pixel, weights clipped at the edges and renormalised; the rows first, then the
 * columns, each pass rounded to bytes as PIL's is. decode.ts has libvips shrink (its linear
 * reduce is the same filter) and uses this only for the axes that grow, which libvips enlarges
 * with another pixel-centre convention (a quarter pixel apart from PIL's).
 */

/** For each output index: the first source index and its weights. */
function coefficients(
  inSize: number,
  outSize: number,
): { first: Int32Array; weights: Float64Array[] } {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // the triangle's support (1) times the filter's scale
  const first = new Int32Array(outSize);
  const weights: Float64Array[] = [];
  for (let o = 0; o < outSize; o++) {
    const centre = (o + 0.5) * scale;
    const lo = Math.max(Math.trunc(centre - support + 0.5), 0);
    const hi = Math.min(Math.trunc(centre + support + 0.5), inSize);
    const k = new Float64Array(hi - lo);
    let sum = 0;
    for (let i = 0; i < k.length; i++) {
      const t = Math.abs((i + lo - centre + 0.5) / filterScale);
      k[i] = t < 1 ? 1 - t : 0;
      sum += k[i]!;
    }
    for (let i = 0; i < k.length; i++) k[i]! /= sum;
    first[o] = lo;
    weights.push(k);
  }
  return { first, weights };
}

const byte = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));

/** h x w x c bytes (rows of interleaved channels) resampled to oh x ow x c. */
export function bilinearResize(
  src: Uint8Array,
  h: number,
  w: number,
  c: number,
  oh: number,
  ow: number,
): Uint8Array {
  let data = src;
  if (ow !== w) {
    const { first, weights } = coefficients(w, ow);
    const out = new Uint8Array(h * ow * c);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < ow; x++) {
        const k = weights[x]!;
        const from = (y * w + first[x]!) * c;
        for (let ch = 0; ch < c; ch++) {
          let s = 0;
          for (let i = 0; i < k.length; i++) s += k[i]! * data[from + i * c + ch]!;
          out[(y * ow + x) * c + ch] = byte(s);
        }
      }
    data = out;
  }
  if (oh !== h) {
    const { first, weights } = coefficients(h, oh);
    const row = ow * c;
    const out = new Uint8Array(oh * row);
    for (let y = 0; y < oh; y++) {
      const k = weights[y]!;
      const from = first[y]! * row;
      for (let j = 0; j < row; j++) {
        let s = 0;
        for (let i = 0; i < k.length; i++) s += k[i]! * data[from + i * row + j]!;
        out[y * row + j] = byte(s);
      }
    }
    data = out;
  }
  return data;
}
