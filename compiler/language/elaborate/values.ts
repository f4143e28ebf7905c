import type { QuantityExpr } from "../../../grammar/ast.js";
import { activations } from "../ir/activations.js";
import type { Json } from "../ir/types.js";

/** Values that `.arch` expressions evaluate to. */
export type Value =
  | { readonly t: "int"; readonly v: number }
  | { readonly t: "float"; readonly v: number }
  | { readonly t: "bool"; readonly v: boolean }
  | { readonly t: "string"; readonly v: string }
  /** A bare word with a meaning of its own: `same`, `depthwise`, `relu`, ... */
  | { readonly t: "symbol"; readonly v: string }
  | { readonly t: "size"; readonly dims: readonly number[]; readonly stride?: number }
  | { readonly t: "list"; readonly items: readonly Value[] }
  | {
      readonly t: "quantity";
      readonly amount: number;
      /** A count of training (`2 epochs`) or a time (`5ms`). */
      readonly unit: QuantityExpr["unit"];
    }
  /** `sgd(momentum = 0.9)` in a config, or `xception(parts = 4)` in an experiment. */
  | {
      readonly t: "call";
      readonly name: string;
      readonly args: Readonly<Record<string, Value>>;
      readonly positional: readonly Value[];
    };

export const int = (v: number): Value => ({ t: "int", v });
export const float = (v: number): Value => ({ t: "float", v });
export const bool = (v: boolean): Value => ({ t: "bool", v });
export const symbol = (v: string): Value => ({ t: "symbol", v });

// The activation list is the IR's (ir/activations.ts): the language accepts what backends lower.
export { activations, type Activation } from "../ir/activations.js";

export const paddings = ["same", "valid"] as const;
export const orders = ["spatial_first", "pointwise_first"] as const;
export const partWords = ["depthwise", "regular"] as const;

/**
 * `default` as a layer's argument means "not given": the layer takes the default that a
 * `defaults` statement set, or its own. A block parameter defaults to it to pass on only
 * what its caller gave (std/units' conv_bn: `epsilon = default`).
 */
export const unsetWord = "default";
export const isUnset = (v: Value): boolean => v.t === "symbol" && v.v === unsetWord;

/** Every bare word that means something on its own; anything else must be a bound name. */
export const symbols: ReadonlySet<string> = new Set<string>([
  ...activations,
  ...paddings,
  ...orders,
  ...partWords,
  unsetWord,
]);

export function typeName(v: Value): string {
  switch (v.t) {
    case "int":
      return "an integer";
    case "float":
      return "a number";
    case "bool":
      return "a boolean";
    case "string":
      return "a string";
    case "symbol":
      return `'${v.v}'`;
    case "size":
      return "a size";
    case "list":
      return "a list";
    case "quantity":
      return `a quantity in ${v.unit}`;
    case "call":
      return `a call of ${v.name}`;
  }
}

export function show(v: Value): string {
  switch (v.t) {
    case "int":
    case "float":
      return String(v.v);
    case "bool":
      return v.v ? "true" : "false";
    case "string":
      return JSON.stringify(v.v);
    case "symbol":
      return v.v;
    case "size":
      return v.dims.join("x") + (v.stride !== undefined ? `/${v.stride}` : "");
    case "list":
      return `[${v.items.map(show).join(", ")}]`;
    case "quantity":
      return `${v.amount} ${v.unit}`;
    case "call": {
      const args = [
        ...v.positional.map(show),
        ...Object.entries(v.args).map(([k, a]) => `${k} = ${show(a)}`),
      ];
      return `${v.name}(${args.join(", ")})`;
    }
  }
}

/** E0500's text: arithmetic or an ordering on what is no number. Shared with generated code. */
export function needsNumber(what: string, v: Value): string {
  return `${what} needs a number, not ${typeName(v)} (${show(v)})`;
}

export type { Json };

export function toJson(v: Value): Json {
  switch (v.t) {
    case "int":
    case "float":
    case "bool":
    case "string":
    case "symbol":
      return v.v;
    case "size":
      return v.stride === undefined ? [...v.dims] : { dims: [...v.dims], stride: v.stride };
    case "list":
      return v.items.map(toJson);
    case "quantity":
      return { amount: v.amount, unit: v.unit };
    case "call":
      return {
        call: v.name,
        ...(v.positional.length ? { positional: v.positional.map(toJson) } : {}),
        ...Object.fromEntries(Object.entries(v.args).map(([k, a]) => [k, toJson(a)])),
      };
  }
}
