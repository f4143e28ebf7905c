import type { Pads } from "../../ir/types.js";

/**
 * The texts of explicit padding's problems (`pad = ...`), shared by the elaborator's diagnostics
 * and the runtime checks of generated TypeScript, so both say the same.
 */

/** `pad` beside `padding`: explicit padding means pad, then 'valid'. */
export function padAndPadding(layer: string): { message: string; hint: string } {
  return {
    message: `${layer}: give either pad or padding, not both`,
    hint: "pad = N pads explicitly and then runs the window over the padded input ('valid'); drop padding, or drop pad to keep TensorFlow's same/valid",
  };
}

/**
 * A pooling window must always see some of its input: a pad as large as the window would make
 * windows of padding alone (-infinity for max pooling), which ONNX and PyTorch refuse too.
 */
export function poolPadProblem(
  layer: string,
  pool: readonly [number, number],
  pads: Pads,
): { message: string; hint: string } | undefined {
  const sides = ["top", "bottom", "left", "right"] as const;
  for (let i = 0; i < 4; i++) {
    const k = pool[i < 2 ? 0 : 1]!;
    if (pads[i]! >= k) {
      return {
        message: `${layer}: pad ${pads[i]} at the ${sides[i]} is not smaller than the ${pool[0]}x${pool[1]} window, so some windows would hold padding only`,
        hint: `pad at most ${k - 1} on that side (PyTorch allows at most half the window, ${Math.floor(k / 2)})`,
      };
    }
  }
  return undefined;
}

/** `pad = [1, 2, 3]`: explicit padding takes 1, 2 or 4 numbers. */
export function padLengthProblem(layer: string, name: string, length: number) {
  return {
    message: `${layer}: ${name} takes 1, 2 or 4 numbers, not a list of ${length}`,
    hint: `write ${name} = 1 (every side), ${name} = [h, w] (rows and columns) or ${name} = [top, bottom, left, right]`,
  };
}

export const negativePadHint =
  "padding adds pixels; to crop, use padding = valid or a larger stride";

/** `ceil = true` beside `padding = same`: ceil mode rounds PyTorch's rule, not TensorFlow's. */
export function ceilWithSame(layer: string): { message: string; hint: string } {
  return {
    message: `${layer}: ceil = true rounds the output size of explicit padding (PyTorch's ceil_mode), but padding = same has its own size, ceil(in / stride)`,
    hint: "drop padding = same and give pad = N (PyTorch's padding), or drop ceil",
  };
}

/** Explicit pads as the language writes them, shortest form first: pad=1, pad=2x1, pad=[t, b, l, r]. */
export function padText(p: readonly number[]): string {
  const [t, b, l, r] = p;
  if (t === b && l === r) return t === l ? `pad=${t}` : `pad=${t}x${l}`;
  return `pad=[${p.join(", ")}]`;
}
