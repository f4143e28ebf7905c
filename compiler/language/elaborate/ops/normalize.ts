import { Attrs } from "./attrs.js";
import { channels } from "./geometry.js";
import { numberRanges, schemaBounds } from "./range.js";
import { nameAttr, noParams, type AttrSpec, type OpDefinitions, type OpSpec } from "./spec.js";
import { value } from "../../ir/attrsSchema.js";

/** A normalisation's learned affine part (batch norm's and layer norm's): gamma and beta. */
export const affineAttrs = [
  { name: "scale", kind: "bool", positional: false, doc: "learn a scale gamma (default true)" },
  { name: "center", kind: "bool", positional: false, doc: "learn an offset beta (default true)" },
] as const satisfies readonly AttrSpec[];

/** The affine switches as written (both on by default) and the weights they learn per channel. */
export function affine(a: Attrs): { scale: boolean; center: boolean; perChannel: number } {
  const scale = a.bool("scale", true);
  const center = a.bool("center", true);
  return { scale, center, perChannel: (scale ? 1 : 0) + (center ? 1 : 0) };
}

/**
 * Layer normalisation over the channel axis of each position, as ConvNeXt uses it (torchvision's
 * `LayerNorm2d` and its channels-last `nn.LayerNorm(dim, eps=1e-6)`; Keras' LayerNormalization
 * with axis -1): every position's channels are normalised by their own mean and biased variance,
 * then scaled and shifted per channel. Unlike batch norm it keeps no running statistics, so it
 * computes the same in training and inference. Works on maps and on feature vectors alike.
 */
export const layernorm = {
  name: "layernorm",
  doc: "layer normalisation over the channels of each position (ConvNeXt's); no running statistics",
  attrs: [
    {
      name: "epsilon",
      kind: "number",
      positional: false,
      doc: "added to the variance, default 1e-6 (ConvNeXt's)",
    },
    ...affineAttrs,
    nameAttr,
  ],
  lower(ctx) {
    const a = new Attrs(ctx);
    const c = channels(ctx.input);
    const { scale, center, perChannel } = affine(a);
    return {
      op: "layernorm",
      attrs: {
        epsilon: a.number("epsilon", 1e-6, numberRanges.layernorm.epsilon),
        scale,
        center,
      },
      shape: ctx.input,
      params: { trainable: perChannel * c, nonTrainable: 0 },
      macs: 0,
    };
  },
} as const satisfies OpSpec<"layernorm">;

/**
 * Layer scale (Touvron et al. 2021, CaiT; ConvNeXt's `layer_scale`): a learnable multiplier per
 * channel, starting at `init`, so that a residual branch starts close to the identity. Counted as
 * batch norm is: parameters, no multiply-accumulates (an element-wise scale).
 */
export const layerscale = {
  name: "layerscale",
  doc: "a learnable multiplier per channel, initially `init` (ConvNeXt's layer scale); no MACs",
  attrs: [
    {
      name: "init",
      kind: "number",
      positional: true,
      doc: "the multipliers' initial value, e.g. 1e-6 (default)",
    },
    nameAttr,
  ],
  lower(ctx) {
    const a = new Attrs(ctx);
    return {
      op: "layerscale",
      attrs: { init: a.number("init", 1e-6, numberRanges.layerscale.init) },
      shape: ctx.input,
      params: { trainable: channels(ctx.input), nonTrainable: 0 },
      macs: 0,
    };
  },
} as const satisfies OpSpec<"layerscale">;

/**
 * Stochastic depth (Huang et al. 2016) as torchvision's `StochasticDepth(p, "row")`: in training,
 * each example's tensor is zeroed with probability `rate` and otherwise divided by 1 - rate; at
 * inference it is the identity. Written as the last layer of a residual branch, it drops the
 * branch per example, which is what stochastic depth is.
 */
export const droppath = {
  name: "droppath",
  doc: "stochastic depth: in training, zeroes the whole tensor of an example with probability rate (else scales by 1 / (1 - rate)); identity at inference",
  attrs: [
    {
      name: "rate",
      kind: "number",
      positional: true,
      doc: "probability an example's branch is dropped, 0 <= rate < 1",
    },
    nameAttr,
  ],
  lower(ctx) {
    const a = new Attrs(ctx);
    const rate = a.number("rate", 0.1, numberRanges.droppath.rate);
    return { op: "droppath", attrs: { rate }, shape: ctx.input, params: noParams, macs: 0 };
  },
} as const satisfies OpSpec<"droppath">;

export const normalizeOps = {
  layernorm: {
    words: [layernorm],
    attrs: {
      epsilon: value.number(schemaBounds(numberRanges.layernorm.epsilon)),
      scale: value.boolean,
      center: value.boolean,
    },
  },
  layerscale: {
    words: [layerscale],
    attrs: { init: value.number() },
    describe: (n) => `layerscale ${n.attrs.init}`,
  },
  droppath: {
    words: [droppath],
    attrs: { rate: value.number(schemaBounds(numberRanges.droppath.rate)) },
    describe: (n) => `droppath ${n.attrs.rate}`,
  },
} satisfies OpDefinitions;
