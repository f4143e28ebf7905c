import type { OpName } from "../../ir/types.js";
import { conv } from "./conv.js";
import { droppath, layernorm, layerscale } from "./normalize.js";
import { sepconv } from "./sepconv.js";
import { shuffle, split, upsample } from "./rearrange.js";
import {
  act,
  activationOps,
  avgpool,
  bn,
  dense,
  dropout,
  flatten,
  gap,
  gmp,
  input,
  maxpool,
  zeropad,
} from "./simple.js";
import type { OpSpec } from "./spec.js";

/**
 * The layer words that lower to each IR op, keyed by op so that an op added to the IR is a
 * compile error here until it says which words write it. The order is the words' order in
 * messages and completions.
 */
const wordsByOp: { readonly [Op in OpName]: readonly OpSpec<Op>[] } = {
  input: [input],
  conv: [conv],
  sepconv: [sepconv],
  bn: [bn],
  layernorm: [layernorm],
  layerscale: [layerscale],
  act: [act, ...activationOps],
  maxpool: [maxpool],
  avgpool: [avgpool],
  gap: [gap],
  gmp: [gmp],
  flatten: [flatten],
  dense: [dense],
  dropout: [dropout],
  droppath: [droppath],
  // Joins are wiring (branches, `residual`, `mul` gates: elaborate.ts), not layer words.
  concat: [],
  add: [],
  mul: [],
  shuffle: [shuffle],
  split: [split],
  upsample: [upsample],
  zeropad: [zeropad],
};

/** Every op of the IR, in the catalogue's order. */
export const opNames = Object.keys(wordsByOp) as readonly OpName[];

/** Every layer word the language knows. */
export const ops: ReadonlyMap<string, OpSpec> = new Map(
  Object.values(wordsByOp)
    .flat()
    .map((o) => [o.name, o]),
);
