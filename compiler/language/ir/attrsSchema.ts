import type { Activation } from "./activationNames.js";
import type { Padding, Pads } from "./types.js";

/**
 * The JSON Schema of one attribute value, typed by the TypeScript value it describes: an op's
 * `AttrsSchema` must give each attribute a schema of exactly its type, so the IR's types and its
 * published schema (ir/validate.ts) cannot drift apart. The type is a phantom, never read.
 */
export interface ValueSchema<T> {
  readonly json: Readonly<Record<string, unknown>>;
  // A function of T both ways, so that the check is exact (neither a wider nor a narrower type).
  readonly type?: (t: T) => T;
}

/** An attribute that may be absent (`pads?`): its schema, and not in `required`. */
export interface OptionalSchema<T> {
  readonly optional: ValueSchema<T>;
}

/** Each attribute of `A` with its value's schema; optional attributes wrapped in `optional`. */
export type AttrsSchema<A> = {
  readonly [K in keyof A]-?: object extends Pick<A, K>
    ? OptionalSchema<Exclude<A[K], undefined>>
    : ValueSchema<A[K]>;
};

const schema = <T>(json: Record<string, unknown>): ValueSchema<T> => ({ json });
const ref = <T>(name: string) => schema<T>({ $ref: `#/definitions/${name}` });

/** The schemas attributes are made of; most refer to the IR schema's shared definitions. */
export const value = {
  /** An integer from 1. */
  positive: ref<number>("positive"),
  /** An integer from 0. */
  count: ref<number>("count"),
  pair: ref<readonly [number, number]>("pair"),
  pads: ref<Pads>("pads"),
  padding: ref<Padding>("padding"),
  activation: ref<Activation>("activation"),
  boolean: schema<boolean>({ type: "boolean" }),
  /** A number, within the JSON Schema bounds given (`exclusiveMinimum`, `maximum`...). */
  number: (bounds: Readonly<Record<string, number>> = {}) =>
    schema<number>({ type: "number", ...bounds }),
  /** One of the strings given. */
  oneOf: <const T extends string>(...values: readonly T[]) => schema<T>({ enum: values }),
  /** Only `true`: a flag present only when set. */
  true: schema<true>({ const: true }),
} as const;

export function optional<T>(s: ValueSchema<T>): OptionalSchema<T> {
  return { optional: s };
}

/** The JSON Schema of an op's attrs object: exactly the attributes listed, the optional ones may be absent. */
export function attrsJsonSchema(attrs: object): Record<string, unknown> {
  const entries = Object.entries(
    attrs as Record<string, ValueSchema<unknown> | OptionalSchema<unknown>>,
  );
  const properties = Object.fromEntries(
    entries.map(([k, s]) => [k, "optional" in s ? s.optional.json : s.json]),
  );
  const required = entries.filter(([, s]) => !("optional" in s)).map(([k]) => k);
  return {
    type: "object",
    ...(required.length ? { required } : {}),
    additionalProperties: false,
    properties,
  };
}
