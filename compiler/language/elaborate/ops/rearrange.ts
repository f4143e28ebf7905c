import { fail } from "../../../../grammar/diagnostic.js";
import { divisors } from "../../../util/divisors.js";
import { show } from "../values.js";
import { Attrs } from "./attrs.js";
import { channels, requireSpatial } from "./geometry.js";
import { nearestDivisors } from "./partition.js";
import { noParams, type OpDefinitions, type OpSpec } from "./spec.js";
import { value } from "../../ir/attrsSchema.js";

/**
 * Why `groups` cannot shuffle `channels` channels, or undefined: the one owner of the rule and
 * its text, shared with generated TypeScript (through `archc/layers`), which throws it at build
 * time. Groups must divide the channels, as the grouped convolution around a shuffle must.
 */
export function shuffleProblem(
  layer: string,
  channels: number,
  groups: number,
): { code: "E0305" | "E0400"; message: string; hint?: string } | undefined {
  if (groups < 1) {
    return { code: "E0305", message: `${layer}: groups must be at least 1, not ${groups}` };
  }
  if (channels % groups === 0) return undefined;
  const near = nearestDivisors(channels, groups);
  return {
    code: "E0400",
    message: `${layer}: ${channels} input channels are not divisible by groups = ${groups}`,
    hint: `the nearest valid values are ${near.join(" and ")} (the divisors of ${channels}: ${divisors(channels).join(", ")})`,
  };
}

/**
 * ShuffleNet's channel shuffle: the channels, seen as `groups` rows of `channels / groups`, are
 * read out column by column, so that each group of the next grouped convolution sees channels of
 * every group of the previous one. Exactly torchvision's `channel_shuffle`
 * (`x.view(n, g, c // g, h, w).transpose(1, 2).reshape(n, c, h, w)`): output channel
 * `j * groups + i` is input channel `i * (channels / groups) + j`. It moves data only: no
 * parameters and no multiply-accumulates.
 */
export const shuffle = {
  name: "shuffle",
  doc: "channel shuffle across `groups` channel groups (ShuffleNet); no parameters, no MACs",
  attrs: [
    {
      name: "groups",
      kind: "parts",
      positional: true,
      doc: "channel groups to interleave, as parts: a count dividing the input channels, regular or depthwise",
    },
    { name: "name", kind: "string", positional: false, doc: "layer name" },
  ],
  lower(ctx) {
    const a = new Attrs(ctx);
    requireSpatial(ctx.name, ctx.span, ctx.input);
    if (!a.has("groups")) {
      fail(
        "E0302",
        ctx.span,
        `${ctx.name}: missing groups`,
        "write e.g. shuffle 4 or shuffle groups = 4",
      );
    }
    const v = a.value("groups")!;
    const c = channels(ctx.input);
    // The words of `parts`, so one block argument can set both: regular is 1, depthwise one
    // channel per group (both leave the order as it is).
    const groups =
      v.t === "int"
        ? v.v
        : v.t === "symbol" && (v.v === "regular" || v.v === "depthwise")
          ? v.v === "regular"
            ? 1
            : c
          : fail(
              "E0303",
              a.span("groups"),
              `${ctx.name}: groups must be a count, regular or depthwise, not ${v.t === "symbol" ? `'${v.v}'` : show(v)}`,
            );
    const p = shuffleProblem(ctx.name, c, groups);
    if (p) fail(p.code, a.span("groups"), p.message, p.hint);
    return {
      op: "shuffle",
      attrs: { groups },
      shape: ctx.input,
      params: noParams,
      macs: 0,
    };
  },
} as const satisfies OpSpec<"shuffle">;

/**
 * Nearest-neighbour upsampling by a whole factor per axis, as Keras `UpSampling2D` and PyTorch's
 * `nn.Upsample(scale_factor, mode='nearest')`: each pixel is repeated `factor` times along each
 * axis. No parameters and no multiply-accumulates. Only nearest: tfjs' bilinear UpSampling2D
 * (TensorFlow 1's coordinates, no half-pixel centres) and PyTorch's bilinear (either
 * `align_corners`) differ by more than 1 on unit-scale inputs, so it is left out.
 */
export const upsample = {
  name: "upsample",
  doc: "nearest-neighbour upsampling by a whole factor per axis; no parameters, no MACs",
  attrs: [
    {
      name: "factor",
      kind: "size",
      positional: true,
      doc: "repeats per axis, e.g. 2 or 2x2 (default 2)",
    },
    { name: "name", kind: "string", positional: false, doc: "layer name" },
  ],
  lower(ctx) {
    const a = new Attrs(ctx);
    const [h, w, c] = requireSpatial(ctx.name, ctx.span, ctx.input);
    const f = a.size("factor", [2, 2]);
    if (f.stride !== undefined) {
      fail(
        "E0303",
        a.span("factor"),
        `${ctx.name}: factor takes no stride, not ${show(a.value("factor")!)}`,
        `write e.g. upsample ${f.dims[0]}x${f.dims[1]}`,
      );
    }
    return {
      op: "upsample",
      attrs: { factor: f.dims },
      shape: [h * f.dims[0], w * f.dims[1], c],
      params: noParams,
      macs: 0,
    };
  },
} as const satisfies OpSpec<"upsample">;

/**
 * Why `split parts take` cannot cut `channels` channels, or undefined: shared with generated
 * TypeScript (through `archc/layers`), which throws it at build time.
 */
export function splitProblem(
  layer: string,
  channels: number,
  parts: number,
  take: number,
): { code: "E0305" | "E0400"; message: string; hint?: string; at: "parts" | "take" } | undefined {
  if (parts < 1)
    return {
      code: "E0305",
      at: "parts",
      message: `${layer}: parts must be at least 1, not ${parts}`,
    };
  if (take < 0 || take >= parts) {
    return {
      code: "E0305",
      at: "take",
      message: `${layer}: take must be one of the ${parts} parts, 0 to ${parts - 1}, not ${take}`,
      hint: "parts are counted from 0, in channel order",
    };
  }
  if (channels % parts === 0) return undefined;
  const near = nearestDivisors(channels, parts);
  return {
    code: "E0400",
    at: "parts",
    message: `${layer}: ${channels} input channels are not divisible by parts = ${parts}`,
    hint: `the nearest valid values are ${near.join(" and ")} (the divisors of ${channels}: ${divisors(channels).join(", ")})`,
  };
}

/**
 * A channel split: `split 2 take = 1` passes on part 1 (from 0) of the input's channels cut into
 * 2 equal parts, channels [c / 2, c). Branches of a `concat` that each take a part are
 * ShuffleNet v2's channel split (torchvision's `x.chunk(2, dim=1)`), which `shuffle 2` after
 * the concat mixes again. It moves data only: no parameters and no multiply-accumulates.
 */
export const split = {
  name: "split",
  doc: "one of `parts` equal channel parts of the input (ShuffleNet v2's channel split); no parameters, no MACs",
  attrs: [
    { name: "parts", kind: "int", positional: true, doc: "equal parts to cut the channels into" },
    {
      name: "take",
      kind: "int",
      positional: true,
      doc: "which part to pass on, from 0 in channel order",
    },
    { name: "name", kind: "string", positional: false, doc: "layer name" },
  ],
  lower(ctx) {
    const a = new Attrs(ctx);
    requireSpatial(ctx.name, ctx.span, ctx.input);
    for (const attr of ["parts", "take"]) {
      if (!a.has(attr))
        fail("E0302", ctx.span, `${ctx.name}: missing ${attr}`, "write e.g. split 2 take = 0");
    }
    const parts = a.int("parts", 2, 1);
    const take = a.int("take", 0);
    const c = channels(ctx.input);
    const p = splitProblem(ctx.name, c, parts, take);
    if (p) fail(p.code, a.span(p.at), p.message, p.hint);
    const size = c / parts;
    return {
      op: "split",
      attrs: { start: take * size, size },
      shape: [...ctx.input.slice(0, -1), size],
      params: noParams,
      macs: 0,
    };
  },
} as const satisfies OpSpec<"split">;

export const rearrangeOps = {
  shuffle: {
    words: [shuffle],
    attrs: { groups: value.positive },
    describe: (n) => `shuffle ${n.attrs.groups}`,
  },
  split: {
    words: [split],
    attrs: { start: value.count, size: value.positive },
    describe: (n) => `split channels ${n.attrs.start}..${n.attrs.start + n.attrs.size - 1}`,
  },
  upsample: {
    words: [upsample],
    attrs: { factor: value.pair },
    describe: (n) => `upsample ${n.attrs.factor[0]}x${n.attrs.factor[1]}`,
  },
} satisfies OpDefinitions;
