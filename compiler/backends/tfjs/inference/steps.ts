import * as tf from "@tensorflow/tfjs";
import { denseInferenceKernel, groupedConv2d, type GroupedConv2D } from "../grouped/index.js";
import { batchNormAffine, foldedBias, scaleKernel } from "./fold.js";
import type { FusedActivation, Step } from "./fuse.js";

/** A step ready to run: its tensor ops, and the folded weights it owns. */
export interface Executable {
  run(inputs: readonly tf.Tensor[]): tf.Tensor;
  dispose(): void;
}

/** What the convolution layers hold, as tfjs-layers (and archc's GroupedConv2D) name it. */
interface ConvGeometry {
  readonly strides: [number, number];
  readonly padding: "same" | "valid";
  readonly dilationRate: [number, number];
}

/** An activation object of tfjs-layers (a layer's `activation`), which applies itself. */
interface LayersActivation {
  apply(x: tf.Tensor): tf.Tensor;
}

/** The layer's weight whose name ends in `/suffix` (tfjs-layers: kernel, bias, gamma...). */
function weight(layer: tf.layers.Layer, suffix: string): tf.Tensor | undefined {
  const w = layer.weights.find((v) => v.originalName.endsWith(`/${suffix}`));
  return w?.read();
}

function mustWeight(layer: tf.layers.Layer, suffix: string): tf.Tensor {
  const w = weight(layer, suffix);
  if (!w) throw new Error(`internal error: layer '${layer.name}' has no weight '${suffix}'`);
  return w;
}

function activate(y: tf.Tensor, activation: FusedActivation, alpha: number | undefined) {
  switch (activation) {
    case "linear":
      return y;
    case "relu":
      return tf.relu(y);
    case "relu6":
      return tf.relu6(y);
    case "elu":
      return tf.elu(y);
    case "sigmoid":
      return tf.sigmoid(y);
    case "leakyrelu":
      return tf.leakyRelu(y, alpha);
  }
}

/** The model's layer for a planned one (same name: the plan's names are the model's). */
export function layerOf(model: tf.LayersModel, name: unknown): tf.layers.Layer {
  return model.getLayer(String(name));
}

/**
 * A convolution step's kernel and bias: the model's own, or, with a batch norm folded in, new
 * tensors the step owns (scaled kernel, shifted bias), computed once.
 */
function foldWeights(
  model: tf.LayersModel,
  step: Extract<Step, { kind: "conv" }>,
  kernelName: string,
  layout: "lastAxis" | "depthwise",
): { kernel: tf.Tensor; bias: tf.Tensor | undefined; owned: tf.Tensor[] } {
  const layer = layerOf(model, step.head.config["name"]);
  const kernel = mustWeight(layer, kernelName);
  const bias = weight(layer, "bias");
  if (!step.bn) return { kernel, bias, owned: [] };
  const affine = batchNormAffine(layerOf(model, step.bn.config["name"]));
  const folded = scaleKernel(kernel, affine.scale, layout);
  const shifted = foldedBias(bias?.dataSync() as Float32Array | undefined, affine);
  return { kernel: folded, bias: shifted, owned: [folded, shifted] };
}

/** A convolution (or dense) step: one fused kernel call where the backend has one. */
function convStep(model: tf.LayersModel, step: Extract<Step, { kind: "conv" }>): Executable {
  const layer = layerOf(model, step.head.config["name"]);
  const geo = layer as unknown as ConvGeometry;
  const { activation, alpha } = step;
  const fusedAct = { activation, ...(alpha !== undefined ? { leakyreluAlpha: alpha } : {}) };
  const after = step.after
    ? (layer as unknown as { activation: LayersActivation }).activation
    : null;
  // tfjs' explicit padding: [[0, 0], [top, bottom], [left, right], [0, 0]] (NHWC).
  const pad: "same" | "valid" | tf.backend_util.ExplicitPadding = step.pads
    ? ([[0, 0], [...step.pads[0]!], [...step.pads[1]!], [0, 0]] as tf.backend_util.ExplicitPadding)
    : geo.padding;
  let owned: tf.Tensor[] = [];
  let run: (x: tf.Tensor) => tf.Tensor;
  switch (step.head.kind) {
    case "conv2d": {
      const w = foldWeights(model, step, "kernel", "lastAxis");
      owned = w.owned;
      run = (x) =>
        tf.fused.conv2d({
          x: x as tf.Tensor4D,
          filter: w.kernel as tf.Tensor4D,
          strides: geo.strides,
          pad,
          dilations: geo.dilationRate,
          ...(w.bias ? { bias: w.bias } : {}),
          ...fusedAct,
        });
      break;
    }
    case "depthwiseConv2d": {
      const w = foldWeights(model, step, "depthwise_kernel", "depthwise");
      owned = w.owned;
      run = (x) =>
        tf.fused.depthwiseConv2d({
          x: x as tf.Tensor4D,
          filter: w.kernel as tf.Tensor4D,
          strides: geo.strides,
          pad: geo.padding,
          dilations: geo.dilationRate,
          ...(w.bias ? { bias: w.bias } : {}),
          ...fusedAct,
        });
      break;
    }
    case "separableConv2d": {
      // tf.separableConv2d's two steps, the pointwise one carrying the bias and activation.
      const depthwise = mustWeight(layer, "depthwise_kernel") as tf.Tensor4D;
      const w = foldWeights(model, step, "pointwise_kernel", "lastAxis");
      owned = w.owned;
      run = (x) => {
        const d = tf.depthwiseConv2d(
          x as tf.Tensor4D,
          depthwise,
          geo.strides,
          geo.padding,
          "NHWC",
          geo.dilationRate,
        );
        const y = tf.fused.conv2d({
          x: d,
          filter: w.kernel as tf.Tensor4D,
          strides: 1,
          pad: "valid",
          ...(w.bias ? { bias: w.bias } : {}),
          ...fusedAct,
        });
        d.dispose();
        return y;
      };
      break;
    }
    case "groupedConv2d": {
      // The strategy the model was built with (the cost model's forward pick for the batch).
      const grouped = layer as unknown as GroupedConv2D;
      const w = foldWeights(model, step, "kernel", "lastAxis");
      owned = w.owned;
      const conv = {
        groups: grouped.groups,
        strides: grouped.strides,
        padding: grouped.padding,
        dilationRate: grouped.dilationRate,
      };
      const choose = {
        strategy: grouped.strategy,
        calibrate: grouped.calibrate,
        mode: "forward" as const,
      };
      // `dense` (pinned, as a build for a batch pins every grouped layer's strategy) runs as the
      // regular fused conv2d on the block-diagonal kernel, expanded once here, not on every pass.
      if (grouped.strategy === "dense") {
        const dense = denseInferenceKernel(w.kernel as tf.Tensor4D, conv);
        owned.push(dense);
        run = (x) =>
          tf.fused.conv2d({
            x: x as tf.Tensor4D,
            filter: dense,
            strides: conv.strides,
            pad: conv.padding,
            ...(w.bias ? { bias: w.bias } : {}),
            ...fusedAct,
          });
        break;
      }
      run = (x) => {
        const x4 = x as tf.Tensor4D;
        const kernel = w.kernel as tf.Tensor4D;
        const y = groupedConv2d(x4, kernel, { ...conv, ...choose });
        if (!w.bias && activation === "linear") return y;
        const biased = w.bias ? tf.add(y, w.bias) : y;
        const out = activate(biased, activation, alpha);
        for (const t of [y, biased]) if (t !== out) t.dispose();
        return out;
      };
      break;
    }
    case "dense": {
      const w = foldWeights(model, step, "kernel", "lastAxis");
      owned = w.owned;
      run = (x) => {
        const units = w.kernel.shape[1]!;
        const flat = x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [-1, x.shape[x.rank - 1]!]);
        const y = tf.fused.matMul({
          a: flat as tf.Tensor2D,
          b: w.kernel as tf.Tensor2D,
          ...(w.bias ? { bias: w.bias } : {}),
          ...fusedAct,
        });
        if (flat !== x) flat.dispose();
        if (x.rank === 2) return y;
        const shaped = tf.reshape(y, [...x.shape.slice(0, -1), units]);
        y.dispose();
        return shaped;
      };
      break;
    }
  }
  return {
    run: ([x]) => {
      const y = run(x!);
      if (!after) return y;
      const z = after.apply(y);
      if (z !== y) y.dispose();
      return z;
    },
    dispose: () => owned.forEach((t) => t.dispose()),
  };
}

/** Layers whose inference is the identity: no op, the input itself. */
const IDENTITY_AT_INFERENCE: ReadonlySet<string> = new Set(["dropout", "dropPath"]);

/**
 * Any other layer: a few common ones as the tensor op tfjs-layers' call would run, the rest
 * through the layer itself (its call on concrete tensors, in inference mode).
 */
function layerStep(model: tf.LayersModel, step: Extract<Step, { kind: "layer" }>): Executable {
  const planned = step.layer;
  const layer = layerOf(model, planned.config["name"]);
  const none = () => {};
  if (IDENTITY_AT_INFERENCE.has(planned.kind)) return { run: ([x]) => x!, dispose: none };
  if (planned.kind === "activation") {
    const fn = (layer as unknown as { activation: LayersActivation }).activation;
    return { run: ([x]) => fn.apply(x!), dispose: none };
  }
  if (planned.kind === "add")
    // In tfjs-layers' order (Add's mergeFunction), so the sum rounds the same.
    return {
      run: (xs) => {
        let sum = tf.add(xs[0]!, xs[1]!);
        for (const x of xs.slice(2)) {
          const next = tf.add(sum, x);
          sum.dispose();
          sum = next;
        }
        return sum;
      },
      dispose: none,
    };
  return {
    run: (xs) => layer.apply(xs.length === 1 ? xs[0]! : [...xs], { training: false }) as tf.Tensor,
    dispose: none,
  };
}

export function executable(model: tf.LayersModel, step: Step): Executable {
  return step.kind === "conv" ? convStep(model, step) : layerStep(model, step);
}
