import type { Span } from "../../../../grammar/span.js";
import type { AttrsSchema } from "../../ir/attrsSchema.js";
import type { IRNode, NodeOf, OpName, Params } from "../../ir/types.js";
import type { Value } from "../values.js";

/** What kind of value an attribute takes; drives both type checks and positional matching. */
export type AttrKind =
  | "int"
  | "number"
  | "bool"
  | "string"
  | "size"
  | "shape"
  | "padding"
  | "activation"
  | "parts"
  | "order"
  | "pads";

export interface AttrSpec {
  readonly name: string;
  readonly kind: AttrKind;
  /** Whether a bare value may fill this attribute, matched by kind in declaration order. */
  readonly positional: boolean;
  readonly doc: string;
}

export interface BoundAttr {
  readonly value: Value;
  readonly span: Span;
}

export interface LowerContext {
  /** Shape of the incoming tensor, without batch; empty for `input`. */
  readonly input: readonly number[];
  readonly attrs: ReadonlyMap<string, BoundAttr>;
  /** The whole layer statement, for diagnostics that are about the layer as such. */
  readonly span: Span;
  readonly name: string;
  /** When set, a partition count that does not divide is moved to the nearest that does. */
  readonly snap?: (s: Snapped) => void;
}

/** A partition count `--snap` changed for one layer. */
export interface Snapped {
  readonly layer: string;
  readonly requested: number;
  readonly chosen: number;
}

type AttrsByOp = { [N in IRNode as N["op"]]: N["attrs"] };

/** What lowering a layer to `Op` yields: the node without its place in the graph. */
// A distributive conditional over a lookup (not Extract, which reads Op contravariantly), so that
// TypeScript sees a word lowering to one op as a word lowering to some op.
export type LoweredOf<Op extends OpName> = Op extends OpName
  ? {
      readonly op: Op;
      readonly attrs: AttrsByOp[Op];
      readonly shape: readonly number[];
      readonly params: Params;
      readonly macs: number;
    }
  : never;

export type Lowered = LoweredOf<OpName>;

/**
 * A layer word and how it lowers to IR op `Op` (catalogue.ts files each under its op). A family
 * file writes each one `{ ... } as const satisfies OpSpec<"op">`, not with a type annotation, so
 * that its name and its attributes' names and kinds stay literal types: generated TypeScript's
 * runtime types each word's options from them (catalogue.ts: `WordAttrs`), and catalogue.ts fails
 * to compile while a word's name or attributes are plain strings.
 */
export interface OpSpec<Op extends OpName = OpName> {
  /** The word users write: `conv`, `relu`, `gap`. */
  readonly name: string;
  readonly doc: string;
  readonly attrs: readonly AttrSpec[];
  lower(ctx: LowerContext): LoweredOf<Op>;
}

/** A word's spec whose name and attributes are these literal types (OpSpec says why). */
export type WordOf<
  Op extends OpName,
  Name extends string,
  A extends readonly AttrSpec[],
> = OpSpec<Op> & {
  readonly name: Name;
  readonly attrs: A;
};

/**
 * What the language knows of IR op `Op`, kept beside its words' specs in their family's file
 * (catalogue.ts gathers the families, and fails to compile until every op has its entry).
 */
export interface OpDefinition<Op extends OpName> {
  /** The layer words that write the op, in the order of messages and completions. */
  readonly words: readonly OpSpec<Op>[];
  /** The JSON Schema of the node's attrs, typed by them (ir/validate.ts publishes it). */
  readonly attrs: AttrsSchema<NodeOf<Op>["attrs"]>;
  /** The summary's and the hover's name of a node, with what sets it apart; the op if absent. */
  describe?(node: NodeOf<Op>): string;
}

/** Definitions of some ops: a family file's share of the catalogue. */
export type OpDefinitions = { readonly [Op in OpName]?: OpDefinition<Op> };

export const noParams: Params = { trainable: 0, nonTrainable: 0 };

/** Every layer's optional `name = "..."`. */
export const nameAttr = {
  name: "name",
  kind: "string",
  positional: false,
  doc: "layer name",
} as const satisfies AttrSpec;
