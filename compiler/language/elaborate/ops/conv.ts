import { Attrs } from "./attrs.js";
import { channels, explicitPads, spatialOut, requireSpatial } from "./geometry.js";
import { resolveParts } from "./partition.js";
import { padText } from "./pads.js";
import type { AttrSpec, OpDefinitions, OpSpec } from "./spec.js";
import { optional, value } from "../../ir/attrsSchema.js";
import type { NodeOf, Padding, Pads } from "../../ir/types.js";

export const convAttrs = [
  {
    name: "kernel",
    kind: "size",
    positional: true,
    doc: "window size, e.g. 3x3; 3x3/2 also sets the stride",
  },
  {
    name: "filters",
    kind: "int",
    positional: true,
    doc: "output channels (default: input channels)",
  },
  { name: "padding", kind: "padding", positional: true, doc: "same (default) or valid" },
  {
    name: "pad",
    kind: "pads",
    positional: false,
    doc: "explicit zero padding: 1, HxW, [h, w] or [top, bottom, left, right]; then valid",
  },
  {
    name: "activation",
    kind: "activation",
    positional: true,
    doc: "applied after the layer (default none)",
  },
  { name: "stride", kind: "size", positional: false, doc: "step of the window (default 1)" },
  {
    name: "dilation",
    kind: "size",
    positional: false,
    doc: "spacing of the window taps (default 1)",
  },
  {
    name: "parts",
    kind: "parts",
    positional: false,
    doc: "channel segments the convolution runs over: 1 = regular, depthwise = one per channel",
  },
  {
    name: "width",
    kind: "int",
    positional: false,
    doc: "channels per segment, instead of parts (as in ResNeXt)",
  },
  { name: "bias", kind: "bool", positional: false, doc: "add a bias (default true, as in Keras)" },
  {
    name: "name",
    kind: "string",
    positional: false,
    doc: "layer name (default derived from the op)",
  },
] as const satisfies readonly AttrSpec[];

export interface ConvGeometry {
  kernel: [number, number];
  strides: [number, number];
  dilation: [number, number];
  padding: Padding;
  pads?: Pads;
}

export function convGeometry(layer: string, a: Attrs): ConvGeometry {
  const k = a.size("kernel");
  const strides = a.has("stride")
    ? a.pair("stride", 1)
    : ([k.stride ?? 1, k.stride ?? 1] as [number, number]);
  const pads = explicitPads(layer, a);
  const geometry: ConvGeometry = {
    kernel: k.dims,
    strides,
    dilation: a.pair("dilation", 1),
    padding: pads ? "valid" : a.symbol<Padding>("padding", "padding", "same"),
  };
  return pads ? { ...geometry, pads } : geometry;
}

export const conv = {
  name: "conv",
  doc: "2-d convolution over `parts` channel segments (grouped convolution)",
  attrs: convAttrs,
  lower(ctx) {
    const a = new Attrs(ctx);
    requireSpatial(ctx.name, ctx.span, ctx.input);
    const cin = channels(ctx.input);
    const filters = a.int("filters", cin, 1);
    const g = convGeometry(ctx.name, a);
    const groups = resolveParts(
      ctx.name,
      a,
      cin,
      [{ what: "filters", count: filters }],
      1,
      ctx.snap,
    );
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
    const useBias = a.bool("bias", true);
    const weights = g.kernel[0] * g.kernel[1] * (cin / groups) * filters;
    return {
      op: "conv",
      attrs: {
        filters,
        ...g,
        groups,
        useBias,
        activation: a.symbol("activation", "activation", "none"),
      },
      shape: [ho, wo, filters],
      params: { trainable: weights + (useBias ? filters : 0), nonTrainable: 0 },
      macs: ho * wo * weights,
    };
  },
} as const satisfies OpSpec<"conv">;

/** The attrs' schema that conv and sepconv share. */
export const convAttrsSchema = {
  filters: value.positive,
  kernel: value.pair,
  strides: value.pair,
  padding: value.padding,
  pads: optional(value.pads),
  dilation: value.pair,
  groups: value.positive,
  useBias: value.boolean,
  activation: value.activation,
} as const;

/** A convolution as the summary names it: kernel, stride, padding and a sepconv's mid. */
export function describeConv(n: NodeOf<"conv" | "sepconv">): string {
  const a = n.attrs;
  const stride = a.strides[0] !== 1 || a.strides[1] !== 1 ? `/${a.strides[0]}` : "";
  const extra = n.op === "sepconv" && n.attrs.mid !== "none" ? ` mid=${n.attrs.mid}` : "";
  const padding = a.pads ? ` ${padText(a.pads)}` : a.padding === "valid" ? " valid" : "";
  return `${n.op} ${a.kernel[0]}x${a.kernel[1]}${stride}${padding}${extra}`;
}

export const convOps = {
  conv: { words: [conv], attrs: convAttrsSchema, describe: describeConv },
} satisfies OpDefinitions;
