import type { Span } from "../../../../grammar/span.js";
import type { IRNode, OpName, Params } from "../../ir/types.js";
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

export type Lowered = {
  [Op in OpName]: {
    readonly op: Op;
    readonly attrs: Extract<IRNode, { op: Op }>["attrs"];
    readonly shape: readonly number[];
    readonly params: Params;
    readonly macs: number;
  };
}[OpName];

export interface OpSpec {
  /** The word users write: `conv`, `relu`, `gap`. */
  readonly name: string;
  readonly doc: string;
  readonly attrs: readonly AttrSpec[];
  lower(ctx: LowerContext): Lowered;
}

export const noParams: Params = { trainable: 0, nonTrainable: 0 };

/** Every layer's optional `name = "..."`. */
export const nameAttr: AttrSpec = {
  name: "name",
  kind: "string",
  positional: false,
  doc: "layer name",
};
