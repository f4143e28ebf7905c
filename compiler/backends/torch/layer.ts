import type { Activation } from "../../language/ir/activations.js";
import type { IRGraph, IRNode } from "../../language/ir/types.js";

// Constructor calls, with their numbers abstracted so that instances can share a class

/** A value in a constructor call: a literal, a parameter of the enclosing class, or an expression. */
export type Val =
  | {
      readonly k: "lit";
      readonly v: number | string | boolean | readonly number[];
      readonly slot: string;
    }
  | { readonly k: "param"; readonly name: string }
  | { readonly k: "expr"; readonly fn: string; readonly args: readonly Val[] };

export interface Arg {
  readonly key?: string;
  readonly v: Val;
  /**
   * The callee's default for the argument. A class passes it when its instances differ in it
   * (one block with parts 1 and 4 is one class with a parameter), and leaves it out otherwise.
   */
  readonly default?: Lit;
  /** The key is a network argument passed on to a block's class (printed under its Python name). */
  readonly arg?: true;
}

export interface Call {
  readonly callee: string;
  readonly args: readonly Arg[];
}

/** A layer in forward(): a submodule's constructor call, or an expression of its inputs' variables. */
export type TorchLayer =
  | { readonly kind: "module"; readonly call: Call }
  | { readonly kind: "inline"; readonly expr: (ins: readonly string[]) => string };

export const module = (callee: string, args: readonly Arg[]): TorchLayer => ({
  kind: "module",
  call: { callee, args },
});
export const inline = (expr: (ins: readonly string[]) => string): TorchLayer => ({
  kind: "inline",
  expr,
});

export type Lit = number | string | boolean | readonly number[];

/** A keyword argument with the callee's default. */
export const optional = (key: string, v: Lit, dflt: Lit): Arg => ({
  key,
  v: lit(v, key),
  default: dflt,
});

export const lit = (v: Lit, slot: string): Val => ({
  k: "lit",
  v,
  slot,
});
export const pair = (v: readonly number[]): number | readonly number[] =>
  v[0] === v[1] ? v[0]! : v;

/** What an op's entry (ops.ts) may ask of the emitter while it writes the op's layer. */
export interface LayerContext {
  readonly graph: IRGraph;
  /** Channels of the node's first input. */
  channelsIn(node: IRNode): number;
  /** The class parameter `attr` of the node is bound to, if a block argument sets it. */
  bound(node: IRNode, attr: string): string | undefined;
  /** The keyword argument of an activation attribute, bound or literal. */
  activation(node: IRNode, attr: "activation" | "mid", value: Activation): Arg[];
  /** The groups argument of a partitioned layer, as `groups_of(...)` where a block sets it. */
  groups(node: IRNode, groups: number, what?: string): Arg[];
}

/** One parameter under both names: ONNX's (IR node name) and the generated module's. */
export interface StateDictName {
  readonly onnx: string;
  readonly torch: string;
  /** Dense kernels: ONNX keeps tfjs' [in, out], PyTorch's Linear [out, in]. */
  readonly transpose?: boolean;
  /** Batch-norm gamma / beta, absent without scale / center. */
  readonly optional?: boolean;
}
