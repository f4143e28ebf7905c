import { fail } from "../../../../grammar/diagnostic.js";
import { spatialStepChannels } from "../../ir/geometry.js";
import { Attrs } from "./attrs.js";
import { convAttrs, convAttrsSchema, convGeometry, describeConv } from "./conv.js";
import { channels, spatialOut, requireSpatial } from "./geometry.js";
import { resolveParts } from "./partition.js";
import type { OpDefinitions, OpSpec } from "./spec.js";
import { value } from "../../ir/attrsSchema.js";

export const sepconv = {
  name: "sepconv",
  doc: "separable convolution: a spatial step over `parts` segments and a 1x1 pointwise step",
  attrs: [
    ...convAttrs.filter((x) => x.name !== "bias"),
    {
      name: "mid",
      kind: "activation",
      positional: false,
      doc: "activation between the two steps (default none)",
    },
    {
      name: "order",
      kind: "order",
      positional: false,
      doc: "spatial_first (default, as Xception) or pointwise_first (as Inception)",
    },
    {
      name: "multiplier",
      kind: "int",
      positional: false,
      doc: "spatial-step output channels per input channel (default 1)",
    },
    {
      name: "bias",
      kind: "bool",
      positional: false,
      doc: "add a bias after the pointwise step (default true, as in Keras)",
    },
  ],
  lower(ctx) {
    const a = new Attrs(ctx);
    requireSpatial(ctx.name, ctx.span, ctx.input);
    const cin = channels(ctx.input);
    const filters = a.int("filters", cin, 1);
    const g = convGeometry(ctx.name, a);
    const order = a.symbol<"spatial_first" | "pointwise_first">("order", "order", "spatial_first");
    const multiplier = a.int("multiplier", 1, 1);
    if (order === "pointwise_first" && multiplier !== 1) {
      fail(
        "E0305",
        a.span("multiplier"),
        `${ctx.name}: multiplier applies only to order spatial_first`,
      );
    }
    const spatialIn = spatialStepChannels(order, cin, filters);
    const spatialOutCh = spatialIn * multiplier;
    const groups = resolveParts(ctx.name, a, spatialIn, [], spatialIn, ctx.snap);
    const [ho, wo] = spatialOut(
      ctx.name,
      ctx.span,
      ctx.input,
      g.kernel,
      g.strides,
      g.dilation,
      g.padding,
      g.pads,
    );
    const [h, w] = ctx.input;
    const spatialW = g.kernel[0] * g.kernel[1] * (spatialIn / groups) * spatialOutCh;
    const pointIn = order === "spatial_first" ? spatialOutCh : cin;
    const pointW = pointIn * filters;
    const useBias = a.bool("bias", true);
    const macs =
      order === "spatial_first"
        ? ho * wo * (spatialW + pointW)
        : h! * w! * pointW + ho * wo * spatialW;
    return {
      op: "sepconv",
      attrs: {
        filters,
        ...g,
        groups,
        useBias,
        activation: a.symbol("activation", "activation", "none"),
        mid: a.symbol("mid", "activation", "none"),
        order,
        multiplier,
        spatialChannels: spatialIn,
      },
      shape: [ho, wo, filters],
      params: { trainable: spatialW + pointW + (useBias ? filters : 0), nonTrainable: 0 },
      macs,
    };
  },
} as const satisfies OpSpec<"sepconv">;

export const sepconvOps = {
  sepconv: {
    words: [sepconv],
    attrs: {
      ...convAttrsSchema,
      mid: value.activation,
      order: value.oneOf("spatial_first", "pointwise_first"),
      multiplier: value.positive,
      spatialChannels: value.positive,
    },
    describe: describeConv,
  },
} satisfies OpDefinitions;
