import {
  addTo,
  functionBody,
  i32Params,
  I32,
  localGet,
  localSet,
  memoryImport,
  op,
  repeat,
  section,
  str,
  uleb,
  upTo,
  V128,
  WASM_HEADER,
} from "./simd.js";

// The depthwise forward convolution's routine (depthwiseForward.ts), hand-assembled like
// simd.ts' rows2. Where rows2 adds one tap into every output pixel (the output read and
// written once per tap: 9 times for 3x3), this keeps each output vector of 4 channels in a
// register while it walks its taps, and stores it once, for 4 output pixels side by side (a
// register tile: each tap's filter vector is loaded once for the 4): 1.25 loads, a multiply and
// an add per 4 multiply-adds instead of rows2's 3 loads, a store, a multiply and an add.
//
//   taps(out, x, w, nvb, count, outS, xS, kh, kw, xRow, xCol, wRow, wCol, outer, outS2, xS2):
//     outer times:
//       count times (output pixels of a row):
//         (4 pixels at a time, then one at a time; per pixel:)
//         for v < nvb, v += 16 (bytes of whole f32x4 vectors of channels):
//           acc = 0
//           for i < kh: for j < kw: acc += w[v + i*wRow + j*wCol] * x[v + i*xRow + j*xCol]
//           out[v] = acc
//         out += outS; x += xS
//       out += outS2; x += xS2          (row starts: the pixel loop's moves are undone)
//
// Taps are added in (kh, kw) order from zero, so an output gets the float32 sums rows2 gives
// after zeroing; kh or kw 0 (a span whose every tap reads padding) stores zeros.

export const TAPS_ARGS = 16;
// Opcodes simd.ts' `op` does not list.
const I32_MUL = 0x6c;
const I32_SHR_U = 0x76;

function tapsBody(): number[] {
  const [OUT, X, W, NVB, COUNT, OUTS, XS, KH, KW, XROW, XCOL, WROW, WCOL, OUTER, OUTS2, XS2] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  ];
  const [V, PO, PX, K, PR, PW, PWR, I, J, PC] = [16, 17, 18, 19, 20, 21, 22, 23, 24, 25];
  const ACC = [26, 27, 28, 29]; // v128 locals: one accumulator per pixel of the tile
  const WV = 30; // v128: the tap's filter vector, shared by the tile's pixels
  const v128load = [op.simd, 0x00, 0x00, 0x00];
  const v128store = [op.simd, 0x0b, 0x00, 0x00];
  const f32x4add = [op.simd, 0xe4, 0x01];
  const f32x4mul = [op.simd, 0xe6, 0x01];
  const zero = [op.simd, 0x0c, ...Array<number>(16).fill(0)]; // v128.const 0
  // base + p * step (p a small constant): pixel p of the tile.
  const nth = (base: number, p: number, step: number): number[] =>
    p === 0
      ? localGet(base)
      : [...localGet(base), ...localGet(step), op.i32const, p, I32_MUL, op.i32add];
  // `pixels` output pixels side by side: each vector of channels over all taps, then stored.
  const tile = (pixels: number): number[] => {
    const tapRow = [
      ...localGet(PR),
      ...localSet(PC),
      ...localGet(PWR),
      ...localSet(PW),
      ...localGet(KW),
      ...localSet(J),
      ...repeat(J, [
        ...localGet(PW),
        ...v128load,
        ...localSet(WV),
        ...Array.from({ length: pixels }, (_, p) => [
          ...localGet(ACC[p]!),
          ...localGet(WV),
          ...nth(PC, p, XS),
          ...v128load,
          ...f32x4mul,
          ...f32x4add,
          ...localSet(ACC[p]!),
        ]).flat(),
        ...addTo(PC, localGet(XCOL)),
        ...addTo(PW, localGet(WCOL)),
      ]),
      ...addTo(PR, localGet(XROW)),
      ...addTo(PWR, localGet(WROW)),
    ];
    const vector = [
      ...Array.from({ length: pixels }, (_, p) => [...zero, ...localSet(ACC[p]!)]).flat(),
      ...localGet(PX),
      ...localGet(V),
      op.i32add,
      ...localSet(PR),
      ...localGet(W),
      ...localGet(V),
      op.i32add,
      ...localSet(PWR),
      ...localGet(KH),
      ...localSet(I),
      ...repeat(I, tapRow),
      ...Array.from({ length: pixels }, (_, p) => [
        ...nth(PO, p, OUTS),
        ...localGet(V),
        op.i32add,
        ...localGet(ACC[p]!),
        ...v128store,
      ]).flat(),
    ];
    return [
      op.i32const,
      0,
      ...localSet(V),
      ...upTo(V, NVB, 16, vector),
      ...addTo(
        PO,
        pixels === 1 ? localGet(OUTS) : [...localGet(OUTS), op.i32const, pixels, I32_MUL],
      ),
      ...addTo(PX, pixels === 1 ? localGet(XS) : [...localGet(XS), op.i32const, pixels, I32_MUL]),
    ];
  };
  const code = [
    ...repeat(OUTER, [
      ...localGet(OUT),
      ...localSet(PO),
      ...localGet(X),
      ...localSet(PX),
      // count >> 2 tiles of 4 pixels, then count & 3 single pixels.
      ...localGet(COUNT),
      op.i32const,
      2,
      I32_SHR_U,
      ...localSet(K),
      ...repeat(K, tile(4)),
      ...localGet(COUNT),
      op.i32const,
      3,
      op.i32and,
      ...localSet(K),
      ...repeat(K, tile(1)),
      ...addTo(OUT, localGet(OUTS2)),
      ...addTo(X, localGet(XS2)),
    ]),
    op.end,
  ];
  return functionBody([...uleb(2), 10, I32, 5, V128], code);
}

/** The module's bytes; `shared` matches the threaded build's shared memory. */
export function depthwiseModule(shared: boolean): Uint8Array {
  return Uint8Array.from([
    ...WASM_HEADER,
    ...section(1, [1, ...i32Params(TAPS_ARGS)]),
    ...memoryImport(shared),
    ...section(3, [1, 0]),
    ...section(7, [1, ...str("taps"), 0x00, 0]),
    ...section(10, [1, ...tapsBody()]),
  ]);
}
