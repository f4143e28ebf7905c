import type { IRNode, OpName } from "../../ir/types.js";
import { convOps } from "./conv.js";
import { normalizeOps } from "./normalize.js";
import { rearrangeOps } from "./rearrange.js";
import { sepconvOps } from "./sepconv.js";
import { simpleOps } from "./simple.js";
import type { OpDefinition, OpDefinitions, OpSpec } from "./spec.js";

/** Joins are wiring (branches, `residual`, `mul` gates: elaborate.ts), not layer words. */
const joinOps = {
  concat: { words: [], attrs: {} },
  add: { words: [], attrs: {} },
  mul: { words: [], attrs: {} },
} satisfies OpDefinitions;

/**
 * Every op's definition, gathered from the family files. Typed as every op's, so that an op added
 * to the IR is a compile error here until a family file defines it (its words, attrs schema and
 * description live beside its specs; this file needs no edit). Families in the order of messages
 * and completions.
 */
const definitions: { readonly [Op in OpName]: OpDefinition<Op> } = {
  ...simpleOps,
  ...convOps,
  ...sepconvOps,
  ...normalizeOps,
  ...rearrangeOps,
  ...joinOps,
};

/** Every op of the IR, in the catalogue's order. */
export const opNames = Object.keys(definitions) as readonly OpName[];

/** The definition of `op`. */
export function definitionOf<Op extends OpName>(op: Op): OpDefinition<Op> {
  return definitions[op] as OpDefinition<Op>;
}

/** A node as the summary and hovers name it: its op, with what sets it apart. */
export function describeNode(n: IRNode): string {
  // TypeScript cannot correlate definitions[n.op] with n's own type: the table's type does.
  const describe = (definitions[n.op] as OpDefinition<OpName>).describe as
    ((n: IRNode) => string) | undefined;
  return describe ? describe(n) : n.op;
}

/** Every layer word the language knows. */
export const ops: ReadonlyMap<string, OpSpec> = new Map(
  opNames.flatMap((op): readonly OpSpec[] => definitions[op].words).map((o) => [o.name, o]),
);
