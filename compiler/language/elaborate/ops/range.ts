/**
 * Where the values of a layer's number attributes lie: one table that elaboration and the
 * generated TypeScript's runtime (backends/ts/runtime/builder.ts) both check against, with the
 * same message.
 */

/** Bounds are inclusive unless marked open; every number must also be finite. */
export interface NumberRange {
  readonly min?: number;
  readonly minOpen?: boolean;
  readonly max?: number;
  readonly maxOpen?: boolean;
  /** What to write instead, when the range alone does not say. */
  readonly hint?: string;
}

export const numberRanges = {
  // A zero or negative epsilon divides by zero, or takes the root of a negative variance.
  bn: {
    epsilon: {
      min: 0,
      minOpen: true,
      hint: "use a small positive number such as 1e-3 (Keras' default)",
    },
    momentum: { min: 0, max: 1 },
  },
  layernorm: {
    epsilon: {
      min: 0,
      minOpen: true,
      hint: "use a small positive number such as 1e-6 (ConvNeXt's)",
    },
  },
  // Any finite start is trainable; zero would only leave the branch off until it learns.
  layerscale: { init: {} },
  dropout: { rate: { min: 0, max: 1, maxOpen: true } },
  // A rate of 1 would divide by zero when rescaling what survives.
  droppath: { rate: { min: 0, max: 1, maxOpen: true } },
} as const satisfies Record<string, Record<string, NumberRange>>;

/** `greater than 0`, `in [0, 1)`, `at most 1`: how a message says where the values lie. */
export function rangeText(r: NumberRange): string {
  if (r.min !== undefined && r.max !== undefined)
    return `in ${r.minOpen ? "(" : "["}${r.min}, ${r.max}${r.maxOpen ? ")" : "]"}`;
  if (r.min !== undefined) return r.minOpen ? `greater than ${r.min}` : `at least ${r.min}`;
  if (r.max !== undefined) return r.maxOpen ? `less than ${r.max}` : `at most ${r.max}`;
  return "a finite number";
}

function inRange(x: number, r: NumberRange): boolean {
  if (!Number.isFinite(x)) return false;
  if (r.min !== undefined && (r.minOpen ? x <= r.min : x < r.min)) return false;
  if (r.max !== undefined && (r.maxOpen ? x >= r.max : x > r.max)) return false;
  return true;
}

/** Why `x` cannot be `attr` of `layer` (`bn 'bn_1'`), or undefined when it can. */
export function rangeProblem(
  layer: string,
  attr: string,
  x: number,
  shown: string,
  r: NumberRange,
): { message: string; hint?: string } | undefined {
  if (inRange(x, r)) return undefined;
  const message = `${layer}: ${attr} must be ${rangeText(r)}, not ${shown}`;
  return r.hint ? { message, hint: r.hint } : { message };
}

/** A range as JSON Schema's bounds, for the IR schema's attrs (ir/attrsSchema.ts). */
export function schemaBounds(r: NumberRange): Record<string, number> {
  const b: Record<string, number> = {};
  if (r.min !== undefined) b[r.minOpen ? "exclusiveMinimum" : "minimum"] = r.min;
  if (r.max !== undefined) b[r.maxOpen ? "exclusiveMaximum" : "maximum"] = r.max;
  return b;
}
