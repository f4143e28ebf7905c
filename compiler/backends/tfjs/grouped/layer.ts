import * as tf from "@tensorflow/tfjs";
import {
  type ChooseOptions,
  type StrategyChoice,
  chooseStrategy,
  parseStrategy,
} from "./costModel.js";
import {
  type GroupedConvOptions,
  type Padding,
  convGeometry,
  convShapeOf,
  normalizeOptions,
  pair,
} from "./geometry.js";
import { STRATEGIES } from "./strategies.js";
import { divisors } from "../../../util/divisors.js";

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Kwargs = Parameters<tf.layers.Layer["call"]>[1];
type Initializer = ReturnType<typeof tf.initializers.glorotUniform>;

/** An initializer as an instance, a tf.initializers name, or its serialized form. */
export type InitializerSpec =
  Initializer | string | { className: string; config: tf.serialization.ConfigDict };

export interface GroupedConvCallOptions extends GroupedConvOptions, ChooseOptions {}

/**
 * Grouped convolution with the strategy the cost model picks for this shape on the
 * active backend (or the one named in opts.strategy). Differentiable in x and kernel.
 */
export function groupedConv2d(
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  opts: GroupedConvCallOptions,
): tf.Tensor4D {
  const shape = convShapeOf(x.shape, kernel.shape, normalizeOptions(opts));
  const { strategy } = chooseStrategy(shape, opts);
  return STRATEGIES[strategy](x, kernel, opts);
}

export interface GroupedConv2DArgs extends LayerArgs {
  filters: number;
  kernelSize: number | [number, number];
  strides?: number | [number, number];
  padding?: Padding;
  dilationRate?: number | [number, number];
  /** Input-channel segments; must divide both the input channels and filters (default 1). */
  groups?: number;
  useBias?: boolean;
  kernelInitializer?: InitializerSpec;
  biasInitializer?: InitializerSpec;
  strategy?: StrategyChoice;
  /** Let the cost model time strategies for an unseen shape (default true). */
  calibrate?: boolean;
}

/**
 * tfjs-layers keeps its own initializer (de)serialisation private, so this goes
 * through the public SerializationMap every initializer class registers itself in.
 */
function resolveInitializer(spec: InitializerSpec, layer: string): Initializer {
  if (typeof spec !== "string" && !("className" in spec && "config" in spec)) return spec;
  const className =
    typeof spec === "string" ? spec.charAt(0).toUpperCase() + spec.slice(1) : spec.className;
  const config = typeof spec === "string" ? {} : spec.config;
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (!entry) throw new Error(`GroupedConv2D '${layer}': unknown initializer '${className}'`);
  const [cls, fromConfig] = entry;
  return fromConfig(cls, config) as Initializer;
}

function serializeInitializer(init: Initializer): tf.serialization.ConfigDict {
  return { className: init.getClassName(), config: init.getConfig() };
}

function positiveInt(v: number, what: string, layer: string): void {
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`GroupedConv2D '${layer}': ${what} must be a positive integer, got ${v}`);
}

/**
 * Conv2D with `groups` (Keras semantics: kernel [kh, kw, cin/groups, filters],
 * output channel o reads input group floor(o / (filters/groups))), lowered by
 * whichever strategy is fastest for its shape on the active backend.
 */
export class GroupedConv2D extends tf.layers.Layer {
  static className = "GroupedConv2D";

  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: Padding;
  readonly dilationRate: [number, number];
  readonly groups: number;
  readonly useBias: boolean;
  readonly strategy: StrategyChoice;
  readonly calibrate: boolean;
  private readonly kernelInitializer: Initializer;
  private readonly biasInitializer: Initializer;
  private kernel: tf.LayerVariable | null = null;
  private bias: tf.LayerVariable | null = null;

  constructor(args: GroupedConv2DArgs) {
    super(args);
    this.filters = args.filters;
    this.kernelSize = pair(args.kernelSize, 1);
    this.strides = pair(args.strides, 1);
    this.padding = args.padding ?? "valid";
    this.dilationRate = pair(args.dilationRate, 1);
    this.groups = args.groups ?? 1;
    this.useBias = args.useBias ?? false;
    this.strategy = parseStrategy(args.strategy ?? "auto", `GroupedConv2D '${this.name}'`);
    this.calibrate = args.calibrate ?? true;
    this.kernelInitializer = resolveInitializer(
      args.kernelInitializer ?? "glorotUniform",
      this.name,
    );
    this.biasInitializer = resolveInitializer(args.biasInitializer ?? "zeros", this.name);

    positiveInt(this.filters, "filters", this.name);
    for (const v of [...this.kernelSize, ...this.strides, ...this.dilationRate])
      positiveInt(v, "kernelSize, strides and dilationRate entries", this.name);
    positiveInt(this.groups, "groups", this.name);
    if (this.padding !== "same" && this.padding !== "valid")
      throw new Error(
        `GroupedConv2D '${this.name}': padding must be 'same' or 'valid', got '${String(this.padding)}'`,
      );
    if (this.filters % this.groups !== 0)
      throw new Error(
        `GroupedConv2D '${this.name}': groups=${this.groups} must divide filters=${this.filters}; ` +
          `valid groups for ${this.filters} filters: ${divisors(this.filters).join(", ")}`,
      );
  }

  private inputChannels(inputShape: tf.Shape): number {
    const cin = inputShape[3];
    if (inputShape.length !== 4 || cin === null || cin === undefined)
      throw new Error(
        `GroupedConv2D '${this.name}': expected an NHWC input with known channels, got ` +
          `[${inputShape.join(", ")}]`,
      );
    if (cin % this.groups !== 0) {
      const valid = divisors(cin).filter((d) => this.filters % d === 0);
      throw new Error(
        `GroupedConv2D '${this.name}': groups=${this.groups} must divide the input channels ` +
          `(${cin}) and filters (${this.filters}); valid groups: ${valid.join(", ")}`,
      );
    }
    return cin;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const cin = this.inputChannels(shape);
    const [kh, kw] = this.kernelSize;
    this.kernel = this.addWeight(
      "kernel",
      [kh, kw, cin / this.groups, this.filters],
      "float32",
      this.kernelInitializer,
    );
    if (this.useBias)
      this.bias = this.addWeight("bias", [this.filters], "float32", this.biasInitializer);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    this.inputChannels(shape);
    const [n, h, w] = shape;
    // Spatial sizes may be unknown (null); each axis is independent of the other.
    const axis = (size: number | null | undefined, i: 0 | 1): number | null => {
      if (size === null || size === undefined) return null;
      const geo = convGeometry({
        batch: 1,
        inHeight: i === 0 ? size : 1,
        inWidth: i === 1 ? size : 1,
        inChannels: this.groups,
        outChannels: this.groups,
        kernelHeight: i === 0 ? this.kernelSize[0] : 1,
        kernelWidth: i === 1 ? this.kernelSize[1] : 1,
        strides: this.strides,
        dilation: this.dilationRate,
        padding: this.padding,
        groups: this.groups,
      });
      return i === 0 ? geo.outHeight : geo.outWidth;
    };
    return [n ?? null, axis(h, 0), axis(w, 1), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    // model.fit passes training=true: rank strategies by forward plus backward time.
    const mode = kwargs["training"] === true ? "train" : "forward";
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      if (!this.kernel) throw new Error(`GroupedConv2D '${this.name}' called before build`);
      let y: tf.Tensor = groupedConv2d(x, this.kernel.read() as tf.Tensor4D, {
        groups: this.groups,
        strides: this.strides,
        padding: this.padding,
        dilationRate: this.dilationRate,
        strategy: this.strategy,
        calibrate: this.calibrate,
        mode,
      });
      if (this.bias) y = tf.add(y, this.bias.read());
      return y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      filters: this.filters,
      kernelSize: [...this.kernelSize],
      strides: [...this.strides],
      padding: this.padding,
      dilationRate: [...this.dilationRate],
      groups: this.groups,
      useBias: this.useBias,
      kernelInitializer: serializeInitializer(this.kernelInitializer),
      biasInitializer: serializeInitializer(this.biasInitializer),
      strategy: this.strategy,
      calibrate: this.calibrate,
      ...super.getConfig(),
    };
  }
}

tf.serialization.registerClass(GroupedConv2D);
