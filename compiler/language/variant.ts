/**
 * A Variant is one model a command builds: a network and the values of its arguments. It is
 * the currency of sweeps, experiments, training and the API. Values travel as values; the label
 * is for display only and is never parsed back.
 */
import { syntheticSpan, type Span } from "../../grammar/span.js";
import type { BoundArg } from "./elaborate/bind.js";
import { show, symbols, type Value } from "./elaborate/values.js";

export type { BoundArg } from "./elaborate/bind.js";

export interface Variant {
  readonly network: string;
  /** Every argument given explicitly, in order; parameters not here take their defaults. */
  readonly point: ReadonlyMap<string, Value>;
  /** Where each argument was written (a spec span, or `--set NAME` / `--sweep NAME`). */
  readonly spans: ReadonlyMap<string, Span>;
  /** For display only, e.g. `xception(parts = 4)`. */
  readonly label: string;
}

export function boundArg(name: string, value: Value, span: Span): BoundArg {
  return { kind: "BoundArg", name, value, span };
}

/**
 * A variant from arguments in order; a later argument of the same name replaces an earlier one.
 * `shown` names the arguments the label shows (by default all), in the order given.
 */
export function makeVariant(
  network: string,
  args: Iterable<BoundArg>,
  shown?: readonly string[],
): Variant {
  const point = new Map<string, Value>();
  const spans = new Map<string, Span>();
  for (const a of args) {
    point.delete(a.name);
    point.set(a.name, a.value);
    spans.set(a.name, a.span);
  }
  const keys = shown ? [...point.keys()].filter((k) => shown.includes(k)) : [...point.keys()];
  const label = `${network}(${keys.map((k) => `${k} = ${show(point.get(k)!)}`).join(", ")})`;
  return { network, point, spans, label };
}

/** The variant's arguments, as the elaborator takes them. */
export function variantArgs(v: Variant): BoundArg[] {
  return [...v.point].map(([name, value]) =>
    boundArg(name, value, v.spans.get(name) ?? syntheticSpan(v.label)),
  );
}

/** The same variant with more arguments; they replace those of the same name. The label stays. */
export function withArgs(v: Variant, args: Iterable<BoundArg>): Variant {
  const more = [...args];
  const next = makeVariant(v.network, [...variantArgs(v), ...more]);
  return { ...next, label: v.label };
}

/**
 * A JavaScript value as a Value, for the API: integers stay integers, other numbers are floats,
 * booleans are booleans, and a string is the word it names (`depthwise`, `relu`) when the language
 * has such a word, else a string. A Value passes through unchanged.
 */
export function valueOf(x: number | boolean | string | Value): Value {
  if (typeof x === "number") return Number.isInteger(x) ? { t: "int", v: x } : { t: "float", v: x };
  if (typeof x === "boolean") return { t: "bool", v: x };
  if (typeof x === "string") return symbols.has(x) ? { t: "symbol", v: x } : { t: "string", v: x };
  return x;
}
