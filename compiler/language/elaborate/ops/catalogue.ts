import { conv } from "./conv.js";
import { droppath, layernorm, layerscale } from "./normalize.js";
import { sepconv } from "./sepconv.js";
import { shuffle, upsample } from "./rearrange.js";
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

/** Every layer word the language knows. */
export const ops: ReadonlyMap<string, OpSpec> = new Map(
  [
    input,
    conv,
    sepconv,
    bn,
    layernorm,
    layerscale,
    act,
    ...activationOps,
    maxpool,
    avgpool,
    gap,
    gmp,
    flatten,
    dense,
    dropout,
    droppath,
    shuffle,
    upsample,
    zeropad,
  ].map((o) => [o.name, o]),
);
