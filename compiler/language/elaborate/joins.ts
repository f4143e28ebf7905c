/**
 * The shape rules where tensors meet (residual, concat, add) and their messages, as pure
 * functions of shapes (without the batch axis): the elaborator reports them as diagnostics, and
 * generated TypeScript (through `archc/layers`) throws them at build time with the same text.
 */

import type { Lowered } from "./ops/spec.js";

export interface JoinProblem {
  readonly message: string;
  readonly hint?: string;
}

const text = (s: readonly number[]) => `[${s.join(", ")}]`;

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A residual's body and shortcut must give one shape; `projected`: it has a shortcut body. */
export function residualProblem(
  body: readonly number[],
  shortcut: readonly number[],
  projected: boolean,
): JoinProblem | undefined {
  if (sameShape(body, shortcut)) return undefined;
  return {
    message: `residual: the body gives ${text(body)} but the shortcut gives ${text(shortcut)}`,
    hint: projected
      ? "make the shortcut's projection match the body's output"
      : `add a projection, e.g. shortcut { conv 1x1${body[0] !== shortcut[0] ? `/${Math.round((shortcut[0] ?? 1) / (body[0] ?? 1))}` : ""} ${body[body.length - 1]} }`,
  };
}

/** Concatenated branches must agree in all but channels. */
export function concatProblem(shapes: readonly (readonly number[])[]): JoinProblem | undefined {
  const first = shapes[0]!;
  const bad = shapes.some(
    (s) => s.length !== first.length || s.slice(0, -1).some((d, i) => d !== first[i]),
  );
  if (!bad) return undefined;
  return {
    message: `concat: branches must agree in all but channels, but they give ${shapes.map(text).join(", ")}`,
    hint: "give every branch the same strides and padding",
  };
}

/** Added branches must have equal shapes; `odd` is the first branch (0-based) that does not. */
export function addProblem(
  shapes: readonly (readonly number[])[],
): (JoinProblem & { readonly odd: number; readonly first: string }) | undefined {
  const a = shapes[0]!;
  const odd = shapes.findIndex((s) => !sameShape(s, a));
  if (odd <= 0) return undefined;
  const b = shapes[odd]!;
  const channelsOnly = a.length === b.length && a.slice(0, -1).every((d, i) => d === b[i]);
  return {
    odd,
    first: `branch 1 gives ${text(a)}`,
    message: `add: branch ${odd + 1} gives ${text(b)}, but branch 1 gives ${text(a)}; added branches must have equal shapes`,
    hint: channelsOnly
      ? `end branch ${odd + 1} with ${a[a.length - 1]} channels, e.g. conv 1x1 ${a[a.length - 1]}`
      : "give every branch the same strides and padding",
  };
}

/**
 * Multiplied branches (`mul`): the shape of the product, or what is wrong. Branches must have
 * equal shapes, except that a per-channel gate, [c] (after gap and dense) or [1, 1, c], scales
 * every position of an [h, w, c] branch with the same c (squeeze-and-excitation). The product has
 * the shape of the first image branch with more than one position (else the first image, else
 * branch 1): the reference `ref` (0-based) the others are checked against. `odd` is the first
 * branch that does not fit.
 */
export function mulShape(shapes: readonly (readonly number[])[]):
  | { readonly shape: readonly number[] }
  | {
      readonly problem: JoinProblem & {
        readonly odd: number;
        readonly ref: number;
        readonly first: string;
      };
    } {
  // The reference: the first image with more than one position, else the first image.
  const image = shapes.findIndex((s) => s.length === 3 && s[0]! * s[1]! > 1);
  const ref =
    image >= 0
      ? image
      : Math.max(
          0,
          shapes.findIndex((s) => s.length === 3),
        );
  const full = shapes[ref]!;
  const c = full[full.length - 1]!;
  const gate = (s: readonly number[]) =>
    full.length === 3 && (sameShape(s, [c]) || sameShape(s, [1, 1, c]));
  const odd = shapes.findIndex((s) => !sameShape(s, full) && !gate(s));
  if (odd < 0) return { shape: full };
  const b = shapes[odd]!;
  const last = b[b.length - 1];
  const gateLike = b.length === 1 || (b.length === 3 && b[0] === 1 && b[1] === 1);
  const hint =
    full.length === 3 && gateLike
      ? `a per-channel gate for branch ${ref + 1} must give ${c} values, e.g. gap -> dense ${Math.max(1, Math.floor(c / 4))} relu -> dense ${c} sigmoid (in a block, \`let c = in\` before mul keeps the image's channel count for the gate)`
      : b.length === full.length && b.slice(0, -1).every((d, i) => d === full[i]) && last !== c
        ? `end branch ${odd + 1} with ${c} channels, e.g. conv 1x1 ${c}`
        : `give every branch the same strides and padding, or make one a per-channel gate, e.g. gap -> dense ${c} sigmoid`;
  return {
    problem: {
      odd,
      ref,
      first: `branch ${ref + 1} gives ${text(full)}`,
      message: `mul: branch ${odd + 1} gives ${text(b)}, but branch ${ref + 1} gives ${text(full)}; multiplied branches must have equal shapes, or give one value per channel ([${c}] or [1, 1, ${c}]) to scale an image`,
      hint,
    },
  };
}

/** The channels concatenated, the other axes as the branches have them (concatProblem first). */
export function concatShape(shapes: readonly (readonly number[])[]): number[] {
  const c = shapes.reduce((sum, s) => sum + (s[s.length - 1] ?? 0), 0);
  return [...shapes[0]!.slice(0, -1), c];
}

/**
 * The node a join makes once its branches passed their check: no weights, and no MACs (adding
 * and multiplying are no multiply-accumulates, as fvcore and thop count).
 */
export function joined(op: "concat" | "add" | "mul", shape: readonly number[]): Lowered {
  return { op, attrs: {}, shape, params: { trainable: 0, nonTrainable: 0 }, macs: 0 };
}
