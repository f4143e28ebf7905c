import * as tf from "@tensorflow/tfjs";
import {
  addProblem,
  concatProblem,
  mulShape,
  residualProblem,
} from "../../../language/elaborate/joins.js";
import { paddedWindowProblem, windowProblem } from "../../../language/elaborate/ops/geometry.js";
import { ceilPads, poolDivisors } from "../../../language/ir/geometry.js";
import {
  ceilWithSame,
  negativePadHint,
  padAndPadding,
  padLengthProblem,
  poolPadProblem,
} from "../../../language/elaborate/ops/pads.js";
import { divisionByZero, floorDiv, floorMod } from "../../../language/elaborate/arithmetic.js";
import { accepts, kindWords } from "../../../language/elaborate/ops/attrs.js";
import { layerNameProblem } from "../../../language/elaborate/namer.js";
import { partition } from "../../../language/elaborate/ops/partition.js";
import {
  numberRanges,
  rangeProblem,
  type NumberRange,
} from "../../../language/elaborate/ops/range.js";
import { shuffleProblem, splitProblem } from "../../../language/elaborate/ops/rearrange.js";
import type { AttrKind } from "../../../language/elaborate/ops/spec.js";
import type { Activation } from "../../../language/elaborate/values.js";
import { activationConstants, isIdentity } from "../../../language/ir/activations.js";
import { tfActivation, tfjsActivations } from "../../tfjs/activations.js";
import { GroupedConv2D } from "../../tfjs/grouped/index.js";
import { HardSwish, HSigmoid } from "../../tfjs/hardActivations.js";
import { MaxPadding2D } from "../../tfjs/padding.js";
import { ChannelShuffle } from "../../tfjs/shuffle.js";
import { PoolDivisor } from "../../tfjs/poolDivisor.js";
import { ChannelSlice } from "../../tfjs/slice.js";
import { DropPath, LayerScale } from "../../tfjs/residualBranch.js";

/**
 * The runtime of structured generated TypeScript (`archc compile --target ts`): each layer word
 * of the language is one method that names the layer as the compiler does, runs the compiler's
 * argument-dependent checks with the compiler's messages, and makes the tfjs layers the layer
 * plan (backends/tfjs/plan.ts) makes for it, so the model and its weights are the runtime's.
 */

export type { Activation };
export type Tensor = tf.SymbolicTensor;
/** A partition: a segment count, `regular` (1) or `depthwise` (one segment per channel). */
export type Parts = number | "regular" | "depthwise";
/** A 2-d window: `3` is 3x3. */
export type Size = number | readonly [number, number];
export type Order = "spatial_first" | "pointwise_first";
type Pad = "same" | "valid";
/**
 * Explicit padding (the language's `pad`): `1` pads every side, `[h, w]` rows and columns on both
 * sides, `[top, bottom, left, right]` each side on its own; the window then runs 'valid'.
 */
export type Pads = number | readonly [number, number] | readonly [number, number, number, number];
type Sides = [number, number, number, number];

/** A check the compiler would have reported for these arguments; the same code and text. */
export class SpecError extends Error {
  constructor(
    readonly code: string,
    readonly diagnostic: string,
    readonly hint?: string,
  ) {
    super(
      hint ? `error[${code}]: ${diagnostic}\n  = help: ${hint}` : `error[${code}]: ${diagnostic}`,
    );
    this.name = "SpecError";
  }
}

/**
 * A value the spec does arithmetic or an ordering comparison on, where its parameter may also hold
 * a partition word or a list (`groups > 1` on a `parts` parameter): the number, or the compiler's
 * E0500 for `regular`, `depthwise` or a list.
 */
export function numeric(v: Parts | Pads, op: string): number {
  if (typeof v === "number") return v;
  const what = typeof v === "string" ? `'${v}' (${v})` : `a list ([${v.join(", ")}])`;
  throw new SpecError("E0500", `'${op}' needs a number, not ${what}`);
}

/** The language's `%` (the divisor's sign: `-7 % 3` is 2, not JavaScript's -1). */
export function mod(a: number, b: number): number {
  if (b === 0) throw new SpecError("E0501", divisionByZero);
  return floorMod(a, b);
}

/** The language's `//` (toward negative infinity), with the compiler's E0501 for a zero divisor. */
export function idiv(a: number, b: number): number {
  if (b === 0) throw new SpecError("E0501", divisionByZero);
  return floorDiv(a, b);
}

/** `in` of the language: the channel count of a tensor. */
export function channels(x: Tensor): number {
  return x.shape[x.shape.length - 1] ?? 0;
}

export interface ConvOptions {
  kernel: Size;
  filters?: number;
  padding?: Pad;
  pad?: Pads;
  activation?: Activation;
  stride?: Size;
  dilation?: Size;
  parts?: Parts;
  width?: number;
  bias?: boolean;
  name?: string;
}

export interface SepconvOptions extends ConvOptions {
  mid?: Activation;
  order?: Order;
  multiplier?: number;
}

export interface PoolOptions {
  pool?: Size;
  padding?: Pad;
  pad?: Pads;
  stride?: Size;
  /** PyTorch's ceil_mode: the output size rounds up. */
  ceil?: boolean;
  name?: string;
}

interface Shared {
  readonly taken: Set<string>;
  input?: Tensor;
}

function pair(v: Size): [number, number] {
  return typeof v === "number" ? [v, v] : [v[0], v[1]];
}

/** A tensor's shape without the batch axis, as the compiler's shapes are. */
function shapeOf(x: Tensor): number[] {
  return x.shape.slice(1) as number[];
}

function shapeText(x: Tensor): string {
  return `[${x.shape.slice(1).join(", ")}]`;
}

/**
 * One naming scope: the network, or one block instance. Names are `conv`, `conv_1`, ... within
 * a scope and block instances are named the same way, joined by `/` (the compiler's Namer).
 */
export class Builder {
  private readonly counts = new Map<string, number>();

  private constructor(
    private readonly prefix: string,
    private readonly shared: Shared,
    /** What `defaults` statements in force set, per layer kind (`s.defaults`). */
    private opDefaults: ReadonlyMap<string, object> = new Map(),
  ) {}

  /**
   * The scope of a network. `unknown` holds the options the network does not have; they are
   * rejected, as the compiler rejects an unknown `--set`.
   */
  static network(network: string, unknown: object = {}): Builder {
    const k = Object.keys(unknown)[0];
    if (k !== undefined) throw new SpecError("E0601", `network ${network} has no parameter '${k}'`);
    return new Builder("", { taken: new Set() });
  }

  /** The scope of a block instance called here: `entry`, then `entry_1`, ... */
  block(name: string): Builder {
    return new Builder(this.fresh(name), this.shared, this.opDefaults);
  }

  /**
   * `defaults bn(epsilon = 1e-5)`: the options layers of that kind take when their own leave them
   * out, in this scope from here on and in the block instances it makes afterwards.
   */
  defaults(op: string, o: object): void {
    this.opDefaults = new Map(this.opDefaults).set(op, { ...this.opDefaults.get(op), ...o });
  }

  /** A layer's options over the defaults in force; an option left undefined is not given. */
  given<T extends object>(op: string, o: T): T {
    const own = Object.entries(o).filter(([, v]) => v !== undefined);
    return { ...this.opDefaults.get(op), ...Object.fromEntries(own) } as T;
  }

  /** The finished model, from the input to `output`. */
  model(output: Tensor, name: string): tf.LayersModel {
    if (!this.shared.input) throw new SpecError("E0405", `network ${name} has no layers`);
    return tf.model({ inputs: this.shared.input, outputs: output, name });
  }

  input(shape: readonly [number, number, number], o: { name?: string } = {}): Tensor {
    if (this.shared.input) {
      throw new SpecError("E0405", "input can only come first in a network");
    }
    if (shape.some((d) => d < 1))
      throw new SpecError("E0305", `input dimensions must be positive, not ${shape.join("x")}`);
    const x = tf.input({ shape: [...shape], name: this.name("input", o.name) });
    this.shared.input = x;
    return x;
  }

  /** 2-d convolution over `parts` channel segments. */
  conv(x: Tensor, o: ConvOptions): Tensor {
    this.words("conv", o);
    const name = this.name("conv", o.name);
    const layer = `conv '${name}'`;
    const cin = channels(x);
    const filters = this.count(layer, "filters", o.filters ?? cin);
    const g = this.geometry(layer, x, o);
    const groups = this.parts(layer, cin, [{ what: "filters", count: filters }], o, 1);
    this.window(layer, x, g.kernel, g.dilation, g.padding, g.pads);
    const padded = this.padLayer(x, g.pads, `${name}/pad`, "zero");
    const y = this.spatial(padded, { ...g, cin, filters, groups, useBias: o.bias ?? true, name });
    return this.activate(y, o.activation ?? "none", `${name}/act`);
  }

  /** Separable convolution: a spatial step over `parts` segments and a 1x1 pointwise step. */
  sepconv(x: Tensor, o: SepconvOptions): Tensor {
    this.words("sepconv", o);
    const name = this.name("sepconv", o.name);
    const layer = `sepconv '${name}'`;
    const cin = channels(x);
    const filters = this.count(layer, "filters", o.filters ?? cin);
    const g = this.geometry(layer, x, o);
    const order = o.order ?? "spatial_first";
    const multiplier = this.count(layer, "multiplier", o.multiplier ?? 1);
    if (order === "pointwise_first" && multiplier !== 1)
      throw new SpecError("E0305", `${layer}: multiplier applies only to order spatial_first`);
    const spatialIn = order === "spatial_first" ? cin : filters;
    const groups = this.parts(layer, spatialIn, [], o, spatialIn);
    this.window(layer, x, g.kernel, g.dilation, g.padding, g.pads);
    const useBias = o.bias ?? true;
    const activation = o.activation ?? "none";
    const mid = o.mid ?? "none";
    const dilated = g.dilation.some((d) => d !== 1);
    // tfjs' SeparableConv2D has no activation between its steps: fuse only when none is wanted.
    if (order === "spatial_first" && mid === "none" && groups === cin && !dilated) {
      const fn = tfActivation(activation);
      const y = this.layer(
        tf.layers.separableConv2d({
          filters,
          kernelSize: g.kernel,
          strides: g.strides,
          padding: g.padding,
          depthMultiplier: multiplier,
          useBias,
          activation: fn ?? "linear",
          name,
        }),
        this.padLayer(x, g.pads, `${name}/pad`, "zero"),
      );
      return fn ? y : this.activate(y, activation, `${name}/act`);
    }
    // The spatial step pads its own input, whichever step comes first.
    const spatial = (t: Tensor, last: boolean) =>
      this.spatial(this.padLayer(t, g.pads, `${name}/pad`, "zero"), {
        ...g,
        cin: spatialIn,
        filters: spatialIn * multiplier,
        groups,
        useBias: last && useBias,
        name: `${name}/spatial`,
      });
    const pointwise = (t: Tensor, last: boolean) =>
      this.layer(
        tf.layers.conv2d({
          filters,
          kernelSize: [1, 1],
          useBias: last && useBias,
          name: `${name}/pointwise`,
        }),
        t,
      );
    const between = (t: Tensor) => this.activate(t, mid, `${name}/mid`);
    const y =
      order === "spatial_first"
        ? pointwise(between(spatial(x, false)), true)
        : spatial(between(pointwise(x, false)), true);
    return this.activate(y, activation, `${name}/act`);
  }

  /** `x`, when it lies where the compiler allows it (elaborate/ops/range.ts); else its E0305. */
  private inRange(layer: string, attr: string, x: number, range: NumberRange): number {
    const p = rangeProblem(layer, attr, x, String(x), range);
    if (p) throw new SpecError("E0305", p.message, p.hint);
    return x;
  }

  /** Batch normalisation over the channel axis, with Keras' defaults. */
  bn(
    x: Tensor,
    o: {
      epsilon?: number;
      momentum?: number;
      scale?: boolean;
      center?: boolean;
      name?: string;
    } = {},
  ): Tensor {
    const name = this.name("bn", o.name);
    const epsilon = this.inRange(
      `bn '${name}'`,
      "epsilon",
      o.epsilon ?? 1e-3,
      numberRanges.bn.epsilon,
    );
    const momentum = this.inRange(
      `bn '${name}'`,
      "momentum",
      o.momentum ?? 0.99,
      numberRanges.bn.momentum,
    );
    return this.layer(
      tf.layers.batchNormalization({
        axis: -1,
        epsilon,
        momentum,
        scale: o.scale ?? true,
        center: o.center ?? true,
        name,
      }),
      x,
    );
  }

  /** Layer normalisation over the channels of each position (ConvNeXt's), epsilon 1e-6. */
  layernorm(
    x: Tensor,
    o: { epsilon?: number; scale?: boolean; center?: boolean; name?: string } = {},
  ): Tensor {
    const name = this.name("layernorm", o.name);
    const epsilon = this.inRange(
      `layernorm '${name}'`,
      "epsilon",
      o.epsilon ?? 1e-6,
      numberRanges.layernorm.epsilon,
    );
    return this.layer(
      tf.layers.layerNormalization({
        axis: -1,
        epsilon,
        scale: o.scale ?? true,
        center: o.center ?? true,
        name,
      }),
      x,
    );
  }

  /** Layer scale: a learnable multiplier per channel, each starting at `init`. */
  layerscale(x: Tensor, o: { init?: number; name?: string } = {}): Tensor {
    const name = this.name("layerscale", o.name);
    const init = this.inRange(
      `layerscale '${name}'`,
      "init",
      o.init ?? 1e-6,
      numberRanges.layerscale.init,
    );
    return this.layer(new LayerScale({ init, name }), x);
  }

  /** Stochastic depth: in training, an example's tensor dropped whole with probability `rate`. */
  droppath(x: Tensor, o: { rate?: number; name?: string } = {}): Tensor {
    const name = this.name("droppath", o.name);
    const rate = this.inRange(
      `droppath '${name}'`,
      "rate",
      o.rate ?? 0.1,
      numberRanges.droppath.rate,
    );
    return this.layer(new DropPath({ rate, name }), x);
  }

  /** `act(fn)`: an activation chosen by argument; `none` is no layer. */
  act(x: Tensor, fn: Activation, o: { name?: string } = {}): Tensor {
    this.words("act", { fn });
    if (isIdentity(fn)) return x;
    return this.activate(x, fn, this.name("act", o.name));
  }

  /** An activation written as a layer of its own (`relu`), named after it. */
  activation(x: Tensor, fn: Exclude<Activation, "none">, o: { name?: string } = {}): Tensor {
    this.words(fn, { fn });
    if (fn === "linear") return x;
    return this.activate(x, fn, this.name(fn, o.name));
  }

  maxpool(x: Tensor, o: PoolOptions = {}): Tensor {
    return this.pool("maxpool", x, o);
  }

  avgpool(x: Tensor, o: PoolOptions = {}): Tensor {
    return this.pool("avgpool", x, o);
  }

  /** Zero padding of height and width (Keras' ZeroPadding2D). */
  zeropad(x: Tensor, o: { pad: Pads; name?: string }): Tensor {
    const name = this.name("zeropad", o.name);
    const layer = `zeropad '${name}'`;
    this.image(layer, x);
    return this.padLayer(x, this.pads(layer, o.pad), name, "zero");
  }

  gap(x: Tensor, o: { name?: string } = {}): Tensor {
    this.image("gap", x);
    return this.layer(tf.layers.globalAveragePooling2d({ name: this.name("gap", o.name) }), x);
  }

  gmp(x: Tensor, o: { name?: string } = {}): Tensor {
    this.image("gmp", x);
    return this.layer(tf.layers.globalMaxPooling2d({ name: this.name("gmp", o.name) }), x);
  }

  flatten(x: Tensor, o: { name?: string } = {}): Tensor {
    return this.layer(tf.layers.flatten({ name: this.name("flatten", o.name) }), x);
  }

  dense(
    x: Tensor,
    o: { units: number; activation?: Activation; bias?: boolean; name?: string },
  ): Tensor {
    this.words("dense", o);
    const name = this.name("dense", o.name);
    const layer = `dense '${name}'`;
    if (x.shape.length !== 2) {
      throw new SpecError(
        "E0404",
        `${layer} needs a feature vector, but its input has shape ${shapeText(x)}`,
        "put gap or flatten before dense",
      );
    }
    const activation = o.activation ?? "none";
    const fn = tfActivation(activation);
    const y = this.layer(
      tf.layers.dense({
        units: this.count(layer, "units", o.units),
        useBias: o.bias ?? true,
        activation: fn ?? "linear",
        name,
      }),
      x,
    );
    return fn ? y : this.activate(y, activation, `${name}/act`);
  }

  dropout(x: Tensor, o: { rate?: number; name?: string } = {}): Tensor {
    const name = this.name("dropout", o.name);
    const rate = this.inRange(
      `dropout '${name}'`,
      "rate",
      o.rate ?? 0.5,
      numberRanges.dropout.rate,
    );
    return this.layer(tf.layers.dropout({ rate, name }), x);
  }

  /** ShuffleNet's channel shuffle across `groups` channel groups (torchvision's definition). */
  shuffle(x: Tensor, o: { groups: Parts; name?: string }): Tensor {
    const name = this.name("shuffle", o.name);
    const layer = `shuffle '${name}'`;
    this.image(layer, x);
    if (typeof o.groups !== "string" && !Number.isInteger(o.groups))
      throw new SpecError(
        "E0303",
        `${layer}: groups must be a count, regular or depthwise, not a number (${o.groups})`,
      );
    const groups = o.groups === "regular" ? 1 : o.groups === "depthwise" ? channels(x) : o.groups;
    const p = shuffleProblem(layer, channels(x), groups);
    if (p) throw new SpecError(p.code, p.message, p.hint);
    return this.layer(new ChannelShuffle({ groups, name }), x);
  }

  /** One of `parts` equal channel parts, counted from 0 (ShuffleNet v2's channel split). */
  split(x: Tensor, o: { parts: number; take: number; name?: string }): Tensor {
    const name = this.name("split", o.name);
    const layer = `split '${name}'`;
    this.image(layer, x);
    const p = splitProblem(layer, channels(x), o.parts, o.take);
    if (p) throw new SpecError(p.code, p.message, p.hint);
    const size = channels(x) / o.parts;
    return this.layer(new ChannelSlice({ start: o.take * size, size, name }), x);
  }

  /** Nearest-neighbour upsampling: each pixel repeated `factor` times along each axis. */
  upsample(x: Tensor, o: { factor?: Size; name?: string } = {}): Tensor {
    const name = this.name("upsample", o.name);
    const layer = `upsample '${name}'`;
    this.image(layer, x);
    const size = this.size(layer, "factor", o.factor ?? 2);
    return this.layer(tf.layers.upSampling2d({ size, name }), x);
  }

  /** Branches joined by concatenation along channels; one branch is just itself. */
  concat(xs: readonly Tensor[]): Tensor {
    if (xs.length === 1) return xs[0]!;
    const p = concatProblem(xs.map(shapeOf));
    if (p) throw new SpecError("E0403", p.message, p.hint);
    return this.layer(tf.layers.concatenate({ axis: -1, name: this.fresh("concat") }), [...xs]);
  }

  /** Branches joined by addition; one branch is just itself. */
  add(xs: readonly Tensor[]): Tensor {
    if (xs.length === 1) return xs[0]!;
    const p = addProblem(xs.map(shapeOf));
    if (p) throw new SpecError("E0402", p.message, p.hint);
    return this.join(xs);
  }

  /**
   * Branches joined by element-wise product; a per-channel gate ([c] or [1, 1, c]) scales every
   * position of an image (squeeze-and-excitation). One branch is just itself.
   */
  mul(xs: readonly Tensor[]): Tensor {
    if (xs.length === 1) return xs[0]!;
    const r = mulShape(xs.map(shapeOf));
    if ("problem" in r) throw new SpecError("E0402", r.problem.message, r.problem.hint);
    const name = this.fresh("mul");
    const c = r.shape[r.shape.length - 1]!;
    // As the layer plan does: tfjs' multiply broadcasts size-1 axes only between equal ranks.
    let gates = 0;
    const ins = xs.map((x) => {
      if (r.shape.length !== 3 || x.shape.length !== 2) return x;
      const gate = `${name}/gate${gates++ ? `_${gates - 1}` : ""}`;
      return this.layer(tf.layers.reshape({ targetShape: [1, 1, c], name: gate }), x);
    });
    return this.layer(tf.layers.multiply({ name }), ins);
  }

  /**
   * The end of `residual { body }`: the body's output plus the block's input (`identity`), or
   * plus what `shortcut { ... }` made of it (`projection`).
   */
  residual(body: Tensor, shortcut: { identity: Tensor } | { projection: Tensor }): Tensor {
    const projected = "projection" in shortcut;
    const other = "projection" in shortcut ? shortcut.projection : shortcut.identity;
    const p = residualProblem(shapeOf(body), shapeOf(other), projected);
    if (p) throw new SpecError("E0402", p.message, p.hint);
    return this.join([body, other]);
  }

  /** A `repeat` count from an expression: a whole number, 0 or more. */
  repeat(count: number): number {
    if (!Number.isInteger(count) || count < 0)
      throw new SpecError("E0502", `repeat needs a count of 0 or more, not ${count}`);
    return count;
  }

  // ---- the lowering the layer plan does ------------------------------------------------

  private join(xs: readonly Tensor[]): Tensor {
    return this.layer(tf.layers.add({ name: this.fresh("add") }), [...xs]);
  }

  private layer(l: tf.layers.Layer, x: Tensor | Tensor[]): Tensor {
    return l.apply(x) as Tensor;
  }

  private activate(x: Tensor, activation: Activation, name: string): Tensor {
    if (isIdentity(activation)) return x;
    const a = tfjsActivations[activation];
    if ("fn" in a) return this.layer(tf.layers.activation({ activation: a.fn, name }), x);
    const layers = {
      hardSwish: () => new HardSwish({ name }),
      hSigmoid: () => new HSigmoid({ name }),
      // The slope the compiler's IR gives leaky_relu, as the layer plan's.
      leakyReLU: () =>
        tf.layers.leakyReLU({ alpha: activationConstants(activation)["alpha"], name }),
    } satisfies Record<typeof a.layer, () => tf.layers.Layer>;
    return this.layer(layers[a.layer](), x);
  }

  /**
   * A convolution over `groups` channel segments with tfjs' own layers where they fit: Conv2D
   * for one group, DepthwiseConv2D for one group per channel (it ignores dilation, so not then),
   * and archc's GroupedConv2D for everything between.
   */
  private spatial(
    x: Tensor,
    s: {
      cin: number;
      filters: number;
      groups: number;
      kernel: [number, number];
      strides: [number, number];
      dilation: [number, number];
      padding: Pad;
      useBias: boolean;
      name: string;
    },
  ): Tensor {
    const common = {
      kernelSize: s.kernel,
      strides: s.strides,
      padding: s.padding,
      useBias: s.useBias,
      name: s.name,
    };
    const dilated = s.dilation.some((d) => d !== 1);
    const dilation = dilated ? { dilationRate: s.dilation } : {};
    if (s.groups === 1)
      return this.layer(tf.layers.conv2d({ ...common, filters: s.filters, ...dilation }), x);
    if (s.groups === s.cin && s.filters % s.cin === 0 && !dilated) {
      return this.layer(
        tf.layers.depthwiseConv2d({ ...common, depthMultiplier: s.filters / s.cin }),
        x,
      );
    }
    return this.layer(
      new GroupedConv2D({ ...common, filters: s.filters, groups: s.groups, ...dilation }),
      x,
    );
  }

  private pool(op: "maxpool" | "avgpool", x: Tensor, o: PoolOptions): Tensor {
    this.words(op, o);
    const name = this.name(op, o.name);
    const layer = `${op} '${name}'`;
    const pool = this.size(layer, "pool", o.pool ?? 2);
    const strides = o.stride !== undefined ? this.size(layer, "stride", o.stride) : pool;
    const pads = this.explicit(layer, o);
    if (pads) {
      const p = poolPadProblem(layer, pool, pads);
      if (p) throw new SpecError("E0305", p.message, p.hint);
    }
    const make = op === "maxpool" ? tf.layers.maxPooling2d : tf.layers.averagePooling2d;
    if (o.ceil) {
      if (o.padding === "same") {
        const p = ceilWithSame(layer);
        throw new SpecError("E0305", p.message, p.hint);
      }
      this.image(layer, x);
      // Ceil mode: the last windows' overhang padded too, and left out of an average's divisor.
      const at = { pool, strides, pads: pads ?? ([0, 0, 0, 0] as const), ceil: true as const };
      const input = [x.shape[1]!, x.shape[2]!];
      const fill = op === "maxpool" ? "max" : "zero";
      const padded = this.padLayer(x, ceilPads(input, at), `${name}/pad`, fill);
      const y = this.layer(make({ poolSize: pool, strides, padding: "valid", name }), padded);
      const d = op === "avgpool" ? poolDivisors(input, at) : undefined;
      if (!d) return y;
      const divisor = `${name}/divisor`;
      return this.layer(new PoolDivisor({ window: pool, ...d, name: divisor }), y);
    }
    const padding = pads ? "valid" : (o.padding ?? "valid");
    this.window(layer, x, pool, [1, 1], padding, pads);
    // Max pooling pads with -infinity, average pooling with zeros that count (PyTorch's).
    const padded = this.padLayer(x, pads, `${name}/pad`, op === "maxpool" ? "max" : "zero");
    return this.layer(make({ poolSize: pool, strides, padding, name }), padded);
  }

  private geometry(layer: string, x: Tensor, o: ConvOptions) {
    this.image(layer, x);
    const kernel = this.size(layer, "kernel", o.kernel);
    const strides = this.size(layer, "stride", o.stride ?? 1);
    const dilation = this.size(layer, "dilation", o.dilation ?? 1);
    const pads = this.explicit(layer, o);
    const padding: Pad = pads ? "valid" : (o.padding ?? "same");
    return { kernel, strides, dilation, padding, pads };
  }

  /** A layer's `pad` as [top, bottom, left, right], or undefined; never beside `padding`. */
  private explicit(layer: string, o: { pad?: Pads; padding?: Pad }): Sides | undefined {
    if (o.pad === undefined) return undefined;
    const pads = this.pads(layer, o.pad);
    if (o.padding !== undefined) {
      const p = padAndPadding(layer);
      throw new SpecError("E0305", p.message, p.hint);
    }
    return pads;
  }

  private pads(layer: string, v: Pads): Sides {
    const xs: readonly number[] = typeof v === "number" ? [v] : v;
    let p: number[];
    if (xs.length === 1) p = [xs[0]!, xs[0]!, xs[0]!, xs[0]!];
    else if (xs.length === 2) p = [xs[0]!, xs[0]!, xs[1]!, xs[1]!];
    else if (xs.length === 4) p = [...xs];
    else {
      const problem = padLengthProblem(layer, "pad", xs.length);
      throw new SpecError("E0303", problem.message, problem.hint);
    }
    if (p.some((d) => !Number.isInteger(d) || d < 0)) {
      const shown = typeof v === "number" ? String(v) : `[${xs.join(", ")}]`;
      throw new SpecError(
        "E0305",
        `${layer}: pad must not be negative, not ${shown}`,
        negativePadHint,
      );
    }
    return [p[0]!, p[1]!, p[2]!, p[3]!];
  }

  /** The layer plan's explicit padding: ZeroPadding2D, or MaxPadding2D (-inf) before max pooling. */
  private padLayer(x: Tensor, pads: Sides | undefined, name: string, fill: "zero" | "max"): Tensor {
    if (!pads) return x;
    if (fill === "max") return this.layer(new MaxPadding2D({ pads, name }), x);
    const padding: [[number, number], [number, number]] = [
      [pads[0], pads[1]],
      [pads[2], pads[3]],
    ];
    return this.layer(tf.layers.zeroPadding2d({ padding, name }), x);
  }

  private image(layer: string, x: Tensor): void {
    if (x.shape.length !== 4) {
      throw new SpecError(
        "E0404",
        `${layer} needs an image-shaped input (height x width x channels), but its input has shape ${shapeText(x)}`,
        "spatial layers must come before gap or flatten",
      );
    }
  }

  private window(
    layer: string,
    x: Tensor,
    kernel: [number, number],
    dilation: [number, number],
    padding: Pad,
    pads?: Sides,
  ): void {
    this.image(layer, x);
    const axes = [
      ["rows", x.shape[1]!, dilation[0]],
      ["columns", x.shape[2]!, dilation[1]],
    ] as const;
    if (pads) {
      for (const [axis, size, d] of axes) {
        const added = axis === "rows" ? pads[0] + pads[1] : pads[2] + pads[3];
        const p = paddedWindowProblem(layer, axis, size, added, kernel, d);
        if (p) throw new SpecError("E0401", p.message, p.hint);
      }
      return;
    }
    for (const [axis, size, d] of axes) {
      const p = windowProblem(layer, axis, size, kernel, d, padding);
      if (p) throw new SpecError("E0401", p.message, p.hint);
    }
  }

  /**
   * The type checks of bindOpArgs for arguments TypeScript's types cannot hold back (from
   * JavaScript, or a cast): the words an attribute takes, and what a partition count can be.
   */
  private words(op: string, o: object): void {
    const layer = this.full(op);
    const kinds: Record<string, AttrKind> = {
      activation: "activation",
      mid: "activation",
      fn: "activation",
      padding: "padding",
      order: "order",
      parts: "parts",
    };
    for (const [attr, kind] of Object.entries(kinds)) {
      const v = (o as Record<string, unknown>)[attr];
      if (v === undefined) continue;
      const value =
        typeof v === "string"
          ? ({ t: "symbol", v } as const)
          : typeof v === "number" && Number.isInteger(v)
            ? ({ t: "int", v } as const)
            : undefined;
      if (value && accepts(kind, value)) continue;
      const shown =
        typeof v === "string" ? `'${v}'` : typeof v === "number" ? `a number (${v})` : String(v);
      throw new SpecError("E0303", `${layer}: ${attr} must be ${kindWords[kind]}, not ${shown}`);
    }
  }

  private parts(
    layer: string,
    cin: number,
    mustDivide: readonly { what: string; count: number }[],
    o: ConvOptions,
    fallback: number,
  ): number {
    const r = partition(
      layer,
      cin,
      mustDivide,
      {
        ...(o.parts !== undefined ? { parts: o.parts } : {}),
        ...(o.width !== undefined ? { width: o.width } : {}),
      },
      fallback,
    );
    if (!r.ok) throw new SpecError(r.code, r.message, r.hint);
    return r.parts;
  }

  private count(layer: string, what: string, n: number): number {
    if (!Number.isInteger(n) || n < 1)
      throw new SpecError(
        "E0305",
        `${layer}: ${what} must be a whole number of at least 1, not ${n}`,
      );
    return n;
  }

  private size(layer: string, what: string, v: Size): [number, number] {
    const p = pair(v);
    if (p.some((d) => !Number.isInteger(d) || d < 1))
      throw new SpecError("E0305", `${layer}: ${what} must be positive, not ${p.join("x")}`);
    return p;
  }

  private name(op: string, chosen: string | undefined): string {
    if (chosen === undefined) return this.fresh(op);
    const bad = layerNameProblem(chosen);
    if (bad) throw new SpecError("E0305", bad.message, bad.hint);
    const full = this.full(chosen);
    if (this.shared.taken.has(full))
      throw new SpecError("E0204", `layer name "${chosen}" is used twice`);
    this.shared.taken.add(full);
    return full;
  }

  private fresh(base: string): string {
    for (;;) {
      const n = this.counts.get(base) ?? 0;
      this.counts.set(base, n + 1);
      const full = this.full(n === 0 ? base : `${base}_${n}`);
      if (!this.shared.taken.has(full)) {
        this.shared.taken.add(full);
        return full;
      }
    }
  }

  private full(local: string): string {
    return this.prefix ? `${this.prefix}/${local}` : local;
  }
}
