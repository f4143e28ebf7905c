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

/** The family tables as their files type them: each word's name and attributes literal. */
type Families = typeof simpleOps &
  typeof convOps &
  typeof sepconvOps &
  typeof normalizeOps &
  typeof rearrangeOps;

/** Every word's spec, with the type its family file gives it. */
type AnyWord = { [Op in keyof Families]: Families[Op]["words"][number] }[keyof Families];

/** Every layer word of the language, as a type: `"conv" | "relu" | ...`. */
export type Word = AnyWord["name"];

/**
 * The attribute specs of word `W`, each name and kind a literal type: what generated
 * TypeScript's runtime types the word's options by (backends/ts/runtime/options.ts), so that a
 * new word needs no edit there.
 */
export type WordAttrs<W extends Word> = AnyWord extends infer S
  ? S extends { readonly name: infer N; readonly attrs: readonly (infer A)[] }
    ? W extends N
      ? A
      : never
    : never
  : never;

// A word written with a type annotation (`export const w: OpSpec<"op"> = { ... }`) has a plain
// string for its name and its attributes' names, and generated TypeScript would take any option
// for every word: write it `{ ... } as const satisfies OpSpec<"op">` (ops/spec.ts, OpSpec).
const wordsAreLiteral: string extends Word | WordAttrs<Word>["name"]
  ? "a layer word's name or attributes are plain strings: see the comment above"
  : true = true;
void wordsAreLiteral;

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
