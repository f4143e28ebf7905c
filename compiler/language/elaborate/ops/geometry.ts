import { fail } from "../../../../grammar/diagnostic.js";
import type { Span } from "../../../../grammar/span.js";
import { effectiveKernel, outSize } from "../../ir/geometry.js";
import type { Attrs } from "./attrs.js";
import { padAndPadding } from "./pads.js";

export { outSize };
import type { Padding, Pads } from "../../ir/types.js";

/**
 * Why a window does not fit its input along one axis (E0401), or undefined. Shared with the
 * runtime checks of generated TypeScript, so both say the same.
 */
export function windowProblem(
  layer: string,
  axis: string,
  size: number,
  kernel: readonly [number, number],
  dilation: number,
  padding: Padding,
): { message: string; hint: string } | undefined {
  const k = kernel[axis === "rows" ? 0 : 1]!;
  const effective = effectiveKernel(k, dilation);
  if (padding !== "valid" || size >= effective) return undefined;
  return {
    message: `${layer}: a ${kernel[0]}x${kernel[1]} window${dilation > 1 ? ` dilated by ${dilation}` : ""} needs at least ${effective} ${axis} with 'valid' padding, but its input has ${size}`,
    hint: "use padding 'same', a smaller kernel, or fewer downsampling steps before this layer",
  };
}

export function spatialOut(
  layer: string,
  span: Span,
  input: readonly number[],
  kernel: readonly [number, number],
  strides: readonly [number, number],
  dilation: readonly [number, number],
  padding: Padding,
  pads?: Pads,
): [number, number] {
  const [h, w] = requireSpatial(layer, span, input);
  if (pads) return paddedOut(layer, span, [h, w], kernel, strides, dilation, pads);
  const axes: [string, number, number][] = [
    ["rows", h, 0],
    ["columns", w, 1],
  ];
  const out: number[] = [];
  for (const [axis, size, i] of axes) {
    const k = kernel[i]!;
    const d = dilation[i]!;
    const problem = windowProblem(layer, axis, size, kernel, d, padding);
    if (problem) fail("E0401", span, problem.message, problem.hint);
    out.push(outSize(size, k, strides[i]!, d, padding));
  }
  return [out[0]!, out[1]!];
}

/**
 * Why explicit padding leaves a window no output along one axis (E0401), or undefined. Shared
 * with the runtime checks of generated TypeScript, so both say the same.
 */
export function paddedWindowProblem(
  layer: string,
  axis: "rows" | "columns",
  size: number,
  added: number,
  kernel: readonly [number, number],
  dilation: number,
): { message: string; hint: string } | undefined {
  const effective = effectiveKernel(kernel[axis === "rows" ? 0 : 1]!, dilation);
  if (size + added >= effective) return undefined;
  return {
    message: `${layer}: a ${kernel[0]}x${kernel[1]} window${dilation > 1 ? ` dilated by ${dilation}` : ""} needs at least ${effective} ${axis}, but its input has ${size} and pad adds ${added}, so it has no output`,
    hint: `pad at least ${effective - size} ${axis} in all, use a smaller kernel, or fewer downsampling steps before this layer`,
  };
}

/** Output size after explicit padding: pad, then a 'valid' window that must fit somewhere. */
function paddedOut(
  layer: string,
  span: Span,
  input: readonly [number, number],
  kernel: readonly [number, number],
  strides: readonly [number, number],
  dilation: readonly [number, number],
  pads: Pads,
): [number, number] {
  const out: number[] = [];
  for (const i of [0, 1]) {
    const axis = i === 0 ? "rows" : "columns";
    const added = pads[2 * i]! + pads[2 * i + 1]!;
    const problem = paddedWindowProblem(layer, axis, input[i]!, added, kernel, dilation[i]!);
    if (problem) fail("E0401", span, problem.message, problem.hint);
    out.push(outSize(input[i]! + added, kernel[i]!, strides[i]!, dilation[i]!, "valid"));
  }
  return [out[0]!, out[1]!];
}

/**
 * The explicit padding of a window layer, or undefined: `pad` beside `padding` is an error, since
 * explicit padding means pad then 'valid'.
 */
export function explicitPads(layer: string, a: Attrs): Pads | undefined {
  const pads = a.pads("pad");
  if (pads && a.has("padding")) {
    const p = padAndPadding(layer);
    fail("E0305", a.span("pad"), p.message, p.hint);
  }
  return pads;
}

export function requireSpatial(
  layer: string,
  span: Span,
  input: readonly number[],
): [number, number, number] {
  if (input.length !== 3) {
    fail(
      "E0404",
      span,
      `${layer} needs an image-shaped input (height x width x channels), but its input has shape [${input.join(", ")}]`,
      "spatial layers must come before gap or flatten",
    );
  }
  return [input[0]!, input[1]!, input[2]!];
}

export function channels(input: readonly number[]): number {
  return input[input.length - 1] ?? 0;
}
