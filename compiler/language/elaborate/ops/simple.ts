import { fail } from "../../../../grammar/diagnostic.js";
import type { Span } from "../../../../grammar/span.js";
import { Attrs } from "./attrs.js";
import { channels, explicitPads, requireSpatial, spatialOut } from "./geometry.js";
import { ceilWithSame, padText, poolPadProblem } from "./pads.js";
import { paddedOutSize } from "../../ir/geometry.js";
import { numberRanges, schemaBounds } from "./range.js";
import { affine, affineAttrs } from "./normalize.js";
import {
  nameAttr,
  noParams,
  type AttrSpec,
  type OpDefinitions,
  type OpSpec,
  type WordOf,
} from "./spec.js";
import { optional, value } from "../../ir/attrsSchema.js";
import type { Activation } from "../../ir/activationNames.js";
import type { NodeOf, Padding, Pads } from "../../ir/types.js";
import { activations } from "../values.js";

export const input = {
  name: "input",
  doc: "the network's input, height x width x channels",
  attrs: [
    { name: "shape", kind: "shape", positional: true, doc: "e.g. 299x299x3 or [h, w, c]" },
    nameAttr,
  ],
  lower(ctx) {
    const v = ctx.attrs.get("shape")?.value;
    let dims: number[] | undefined;
    if (v?.t === "size" && v.dims.length === 3) dims = [...v.dims];
    if (v?.t === "list" && v.items.every((i) => i.t === "int"))
      dims = v.items.map((i) => (i as { v: number }).v);
    if (!dims || dims.length !== 3) {
      fail(
        "E0302",
        ctx.span,
        "input needs a shape height x width x channels",
        "write e.g. input 299x299x3",
      );
    }
    if (dims.some((d) => d < 1))
      fail("E0305", ctx.span, `input dimensions must be positive, not ${dims.join("x")}`);
    return { op: "input", attrs: {}, shape: dims, params: noParams, macs: 0 };
  },
} as const satisfies OpSpec<"input">;

export const bn = {
  name: "bn",
  doc: "batch normalisation over the channel axis",
  attrs: [
    { name: "epsilon", kind: "number", positional: false, doc: "default 0.001 (Keras)" },
    {
      name: "momentum",
      kind: "number",
      positional: false,
      doc: "moving-average momentum, default 0.99 (Keras)",
    },
    ...affineAttrs,
    nameAttr,
  ],
  lower(ctx) {
    const a = new Attrs(ctx);
    const c = channels(ctx.input);
    const { scale, center, perChannel } = affine(a);
    return {
      op: "bn",
      attrs: {
        epsilon: a.number("epsilon", 1e-3, numberRanges.bn.epsilon),
        momentum: a.number("momentum", 0.99, numberRanges.bn.momentum),
        scale,
        center,
      },
      shape: ctx.input,
      // Moving mean and variance are the two non-trainable weights per channel.
      params: { trainable: perChannel * c, nonTrainable: 2 * c },
      macs: 0,
    };
  },
} as const satisfies OpSpec<"bn">;

export const act = {
  name: "act",
  doc: "an activation chosen by argument: act(relu), act(mid)",
  attrs: [{ name: "fn", kind: "activation", positional: true, doc: "the activation" }, nameAttr],
  lower(ctx) {
    const a = new Attrs(ctx);
    if (!a.has("fn")) fail("E0302", ctx.span, "act needs an activation, e.g. act(relu)");
    return {
      op: "act",
      attrs: { activation: a.symbol("fn", "activation", "none") },
      shape: ctx.input,
      params: noParams,
      macs: 0,
    };
  },
} as const satisfies OpSpec<"act">;

/** `relu`, `elu`, ... as layers of their own. */
export const activationOps = activations
  .filter((f): f is Exclude<Activation, "none"> => f !== "none")
  .map(
    (fn) =>
      ({
        name: fn,
        doc: `the ${fn} activation`,
        attrs: [nameAttr],
        lower: (ctx) => ({
          op: "act",
          attrs: { activation: fn },
          shape: ctx.input,
          params: noParams,
          macs: 0,
        }),
      }) as const satisfies OpSpec<"act">,
  );

function poolWordAttrs(name: "maxpool" | "avgpool") {
  return [
    { name: "pool", kind: "size", positional: true, doc: "window, e.g. 3x3/2 (default 2x2)" },
    {
      name: "padding",
      kind: "padding",
      positional: true,
      doc: "valid (default, as Keras) or same",
    },
    {
      name: "pad",
      kind: "pads",
      positional: false,
      doc:
        name === "maxpool"
          ? "explicit padding that never wins (-infinity, as PyTorch): 1, HxW, [h, w] or [t, b, l, r]"
          : "explicit zero padding, counted in the average (as PyTorch's default): 1, HxW, [h, w] or [t, b, l, r]",
    },
    { name: "stride", kind: "size", positional: false, doc: "default: the window size" },
    {
      name: "ceil",
      kind: "bool",
      positional: false,
      doc:
        name === "maxpool"
          ? "round the output size up, as PyTorch's ceil_mode: a last window may run past the input if it starts inside it (default false)"
          : "round the output size up, as PyTorch's ceil_mode: a last window may run past the input if it starts inside it, and divides by the input and padding it covers (default false)",
    },
    nameAttr,
  ] as const satisfies readonly AttrSpec[];
}

type PoolWord<N extends "maxpool" | "avgpool"> = WordOf<N, N, ReturnType<typeof poolWordAttrs>>;

// Overloads, so each pooling word is filed under its own op in the catalogue.
function pool(name: "maxpool"): PoolWord<"maxpool">;
function pool(name: "avgpool"): PoolWord<"avgpool">;
function pool(name: "maxpool" | "avgpool"): PoolWord<"maxpool" | "avgpool"> {
  return {
    name,
    doc: `${name === "maxpool" ? "max" : "average"} pooling`,
    attrs: poolWordAttrs(name),
    lower(ctx) {
      const a = new Attrs(ctx);
      const [h, w, c] = requireSpatial(ctx.name, ctx.span, ctx.input);
      const p = a.size("pool", [2, 2]);
      const strides: [number, number] = a.has("stride")
        ? a.pair("stride", 1)
        : p.stride !== undefined
          ? [p.stride, p.stride]
          : [p.dims[0], p.dims[1]];
      const pads = explicitPads(ctx.name, a);
      if (pads) windowCoversInput(ctx.name, a.span("pad"), p.dims, pads);
      if (a.bool("ceil", false)) {
        // PyTorch's ceil_mode rounds its own output-size rule, explicit padding's: TensorFlow's
        // 'same' already rounds up, and has no such option.
        if (a.has("padding") && a.symbol<Padding>("padding", "padding", "valid") === "same") {
          const problem = ceilWithSame(ctx.name);
          fail("E0305", a.span("ceil"), problem.message, problem.hint);
        }
        const attrs = {
          pool: p.dims,
          strides,
          padding: "valid" as const,
          pads: pads ?? zeroPads,
          ceil: true as const,
        };
        const [t, b, l, r] = attrs.pads;
        return {
          op: name,
          attrs,
          shape: [
            paddedOutSize(h, p.dims[0], strides[0], 1, t, b, true),
            paddedOutSize(w, p.dims[1], strides[1], 1, l, r, true),
            c,
          ],
          params: noParams,
          macs: 0,
        };
      }
      const padding = pads ? "valid" : a.symbol<Padding>("padding", "padding", "valid");
      const [ho, wo] = spatialOut(
        ctx.name,
        ctx.span,
        ctx.input,
        p.dims,
        strides,
        [1, 1],
        padding,
        pads,
      );
      return {
        op: name,
        attrs: pads ? { pool: p.dims, strides, padding, pads } : { pool: p.dims, strides, padding },
        shape: [ho, wo, c],
        params: noParams,
        macs: 0,
      };
    },
  };
}

function windowCoversInput(layer: string, span: Span, pool: readonly [number, number], pads: Pads) {
  const problem = poolPadProblem(layer, pool, pads);
  if (problem) fail("E0305", span, problem.message, problem.hint);
}

const zeroPads: Pads = [0, 0, 0, 0];

export const maxpool = pool("maxpool");
export const avgpool = pool("avgpool");

type GlobalPoolWord<N extends "gap" | "gmp"> = WordOf<N, N, readonly [typeof nameAttr]>;

function globalPool(name: "gap"): GlobalPoolWord<"gap">;
function globalPool(name: "gmp"): GlobalPoolWord<"gmp">;
function globalPool(name: "gap" | "gmp"): GlobalPoolWord<"gap" | "gmp"> {
  return {
    name,
    doc: `global ${name === "gap" ? "average" : "max"} pooling to one value per channel`,
    attrs: [nameAttr],
    lower(ctx) {
      const [, , c] = requireSpatial(ctx.name, ctx.span, ctx.input);
      return { op: name, attrs: {}, shape: [c], params: noParams, macs: 0 };
    },
  };
}
export const gap = globalPool("gap");
export const gmp = globalPool("gmp");

export const flatten = {
  name: "flatten",
  doc: "reshape to one feature vector",
  attrs: [nameAttr],
  lower(ctx) {
    return {
      op: "flatten",
      attrs: {},
      shape: [ctx.input.reduce((p, d) => p * d, 1)],
      params: noParams,
      macs: 0,
    };
  },
} as const satisfies OpSpec<"flatten">;

export const dense = {
  name: "dense",
  doc: "fully connected layer",
  attrs: [
    { name: "units", kind: "int", positional: true, doc: "output features" },
    { name: "activation", kind: "activation", positional: true, doc: "default none" },
    { name: "bias", kind: "bool", positional: false, doc: "default true" },
    nameAttr,
  ],
  lower(ctx) {
    const a = new Attrs(ctx);
    if (ctx.input.length !== 1) {
      fail(
        "E0404",
        ctx.span,
        `${ctx.name} needs a feature vector, but its input has shape [${ctx.input.join(", ")}]`,
        "put gap or flatten before dense",
      );
    }
    if (!a.has("units"))
      fail("E0302", ctx.span, `${ctx.name}: missing units`, "write e.g. dense 10");
    const units = a.int("units", 1, 1);
    const useBias = a.bool("bias", true);
    const fin = ctx.input[0]!;
    return {
      op: "dense",
      attrs: { units, useBias, activation: a.symbol("activation", "activation", "none") },
      shape: [units],
      params: { trainable: fin * units + (useBias ? units : 0), nonTrainable: 0 },
      macs: fin * units,
    };
  },
} as const satisfies OpSpec<"dense">;

export const dropout = {
  name: "dropout",
  doc: "dropout during training; no parameters",
  attrs: [
    { name: "rate", kind: "number", positional: true, doc: "fraction dropped, 0 <= rate < 1" },
    nameAttr,
  ],
  lower(ctx) {
    const a = new Attrs(ctx);
    const rate = a.number("rate", 0.5, numberRanges.dropout.rate);
    return { op: "dropout", attrs: { rate }, shape: ctx.input, params: noParams, macs: 0 };
  },
} as const satisfies OpSpec<"dropout">;

export const zeropad = {
  name: "zeropad",
  doc: "zero padding of the height and width (Keras' ZeroPadding2D, PyTorch's nn.ZeroPad2d)",
  attrs: [
    {
      name: "pad",
      kind: "pads",
      positional: true,
      doc: "pixels to add: 1 (every side), HxW, [h, w] or [top, bottom, left, right]",
    },
    nameAttr,
  ],
  lower(ctx) {
    const a = new Attrs(ctx);
    const [h, w, c] = requireSpatial(ctx.name, ctx.span, ctx.input);
    const pads = a.pads("pad");
    if (!pads) fail("E0302", ctx.span, `${ctx.name}: missing pad`, "write e.g. zeropad 1");
    return {
      op: "zeropad",
      attrs: { pads },
      shape: [h + pads[0] + pads[1], w + pads[2] + pads[3], c],
      params: noParams,
      macs: 0,
    };
  },
} as const satisfies OpSpec<"zeropad">;

const poolAttrs = {
  pool: value.pair,
  strides: value.pair,
  padding: value.padding,
  pads: optional(value.pads),
  ceil: optional(value.true),
} as const;

function describePool(n: NodeOf<"maxpool" | "avgpool">): string {
  const a = n.attrs;
  const padding = a.pads ? ` ${padText(a.pads)}` : a.padding === "same" ? " same" : "";
  return `${n.op} ${a.pool[0]}x${a.pool[1]}/${a.strides[0]}${padding}`;
}

export const simpleOps = {
  input: { words: [input], attrs: {} },
  bn: {
    words: [bn],
    attrs: {
      epsilon: value.number(schemaBounds(numberRanges.bn.epsilon)),
      momentum: value.number(schemaBounds(numberRanges.bn.momentum)),
      scale: value.boolean,
      center: value.boolean,
    },
  },
  act: {
    words: [act, ...activationOps],
    attrs: { activation: value.activation },
    describe: (n) => n.attrs.activation,
  },
  maxpool: { words: [maxpool], attrs: poolAttrs, describe: describePool },
  avgpool: { words: [avgpool], attrs: poolAttrs, describe: describePool },
  gap: { words: [gap], attrs: {} },
  gmp: { words: [gmp], attrs: {} },
  flatten: { words: [flatten], attrs: {} },
  dense: {
    words: [dense],
    attrs: { units: value.positive, useBias: value.boolean, activation: value.activation },
    describe: (n) => (n.attrs.activation !== "none" ? `dense ${n.attrs.activation}` : "dense"),
  },
  dropout: {
    words: [dropout],
    attrs: { rate: value.number(schemaBounds(numberRanges.dropout.rate)) },
    describe: (n) => `dropout ${n.attrs.rate}`,
  },
  zeropad: {
    words: [zeropad],
    attrs: { pads: value.pads },
    describe: (n) => `zeropad ${padText(n.attrs.pads).slice("pad=".length)}`,
  },
} satisfies OpDefinitions;
