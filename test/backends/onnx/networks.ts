import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, onTestFinished } from "vitest";
import { exportOnnx } from "../../../compiler/backends/onnx/export.js";
import { runOnnx } from "../../../compiler/backends/onnx/runtime.js";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import type { IRGraph } from "../../../compiler/language/ir/types.js";

/**
 * Builds for these tests run grouped convolutions with one fixed strategy: the cost model would
 * otherwise time every strategy on each unseen shape (forward and backward in training mode),
 * which costs more than the tests themselves; every strategy computes the same function
 * (test/backends/tfjs/grouped.test.ts), and split is among the fastest on wasm.
 */
export const plan = { groupedStrategy: "split" } as const;

/**
 * Every op and corner the ONNX lowering has, in one small network: 'same' stride-2 convolutions
 * and pools on odd sizes (TensorFlow's extra bottom/right pixel), 'valid' padding, dilation 2,
 * grouped convolutions with parts strictly between 1 and the channels, depthwise with a
 * multiplier, every separable variant (fused, mid activation, dilated, pointwise first,
 * multiplier 2), batch norm without scale or center, every activation, add of three (Sum),
 * concat of images and of vectors, flatten (NHWC order), gap, gmp, dropout, and a linear dense
 * at the end so no softmax hides differences.
 */
export const edgeSpec = `network edges {
  input 61x57x3
  conv 3x3/2 8 -> bn -> relu
  conv 3x3 8 parts=2 dilation=2 -> elu
  conv 3x3/2 12 parts=4 valid bias=false -> selu
  sepconv 3x3 16 parts=4 mid=relu -> bn scale=false
  sepconv 3x3 16 -> gelu
  sepconv 3x3 24 dilation=2 mid=elu -> relu6
  conv 3x3 48 parts=depthwise -> hard_sigmoid
  sepconv 3x3/2 32 multiplier=2 bias=false -> bn center=false -> swish
  add {
    branch { avgpool 3x3/2 same }
    branch { maxpool 3x3/2 same }
    branch { sepconv 3x3/2 32 order=pointwise_first parts=2 mid=relu -> softplus }
  }
  concat {
    branch { avgpool 2x2/1 valid -> conv 1x1 8 -> leaky_relu }
    branch { sepconv 2x2 8 valid -> tanh }
  }
  concat {
    branch { flatten }
    branch { gap }
    branch { gmp -> sigmoid }
  }
  dense 16 leaky_relu -> bn -> dropout 0.3 -> dense 10
}
`;

/** A network whose output is an image, to check the layouts of the input and the output. */
export const imageSpec = `network image {
  input 17x15x4
  conv 3x3/2 8 parts=2 -> bn -> relu
  sepconv 3x3 6 mid=relu -> softmax
}
`;

/**
 * Non-trivial values for everything a fresh tfjs model leaves at 0 or 1 (biases, batch norm's
 * statistics, gamma, beta), so a swapped or dropped parameter shows in the outputs. Kernels keep
 * their Glorot initialisation, which keeps activations in a sane range through deep networks.
 */
export function randomizeNonKernels(model: tf.LayersModel, seed = 1): void {
  for (const w of model.weights) {
    const name = w.originalName;
    if (name.endsWith("kernel")) continue;
    const shape = w.shape as number[];
    const positive = name.endsWith("moving_variance") || name.endsWith("gamma");
    const v = positive
      ? tf.randomUniform(shape, 0.5, 1.5, "float32", seed++)
      : tf.randomUniform(shape, -0.3, 0.3, "float32", seed++);
    w.write(v);
    v.dispose();
  }
}

/**
 * Sets every batch norm's moving statistics to the statistics of its input on `x` (computed with
 * the batch norms before it already normalising, as in training mode). Glorot-initialised deep
 * networks otherwise shrink activations layer after layer, and an error in a late layer would
 * hide below any absolute threshold; calibrated, activations stay near unit scale, as in a
 * trained network. `x` needs enough values per channel at the smallest map (batch x height x
 * width): near-zero variances measured on too few would amplify float rounding into differences
 * no real network has.
 */
export function calibrateBatchNorm(graph: IRGraph, model: tf.LayersModel, x: tf.Tensor): void {
  // tfjs' batch norm crashes in training mode without gamma or beta (it reads them anyway), so
  // the statistics come from a twin with both, at 1 and 0 where the model has none: the same
  // function, and the same layer names.
  const partial = graph.nodes.some((n) => n.op === "bn" && !(n.attrs.scale && n.attrs.center));
  const twin = partial
    ? buildModelFromIR(
        {
          ...graph,
          nodes: graph.nodes.map((n) =>
            n.op === "bn" ? { ...n, attrs: { ...n.attrs, scale: true, center: true } } : n,
          ),
        },
        plan,
      )
    : model;
  if (twin !== model) {
    const source = new Map(model.weights.map((w) => [w.originalName, w]));
    for (const w of twin.weights) {
      const s = source.get(w.originalName);
      if (s) w.write(s.read());
    }
  }
  const bns = twin.layers.filter((l) => l.getClassName() === "BatchNormalization");
  if (bns.length) {
    const probe = tf.model({
      inputs: twin.inputs,
      outputs: bns.map((l) => l.input as tf.SymbolicTensor),
    });
    const stats = tf.tidy(() => {
      const ins = probe.apply(x, { training: true }) as tf.Tensor | tf.Tensor[];
      return (Array.isArray(ins) ? ins : [ins]).map((t) =>
        tf.moments(t, [...Array(t.rank - 1).keys()]),
      );
    });
    bns.forEach((bn, i) => {
      const { mean, variance } = stats[i]!;
      for (const w of model.getLayer(bn.name).weights) {
        if (w.originalName.endsWith("moving_mean")) w.write(mean);
        if (w.originalName.endsWith("moving_variance")) w.write(variance);
      }
      mean.dispose();
      variance.dispose();
    });
  }
  if (twin !== model) twin.dispose();
}

/** The same graph with its final softmax left out: logits, which a softmax would flatten. */
export function withoutSoftmax(g: IRGraph): IRGraph {
  const out = g.nodes[g.output]!;
  if (out.op !== "dense" || out.attrs.activation !== "softmax")
    throw new Error(`${g.network} does not end in a softmax dense layer`);
  const linear = { ...out, attrs: { ...out.attrs, activation: "none" as const } };
  return { ...g, nodes: g.nodes.map((n) => (n === out ? linear : n)) };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** A fresh temporary folder, removed when the test ends: exported models run to 100 MB each. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * tfjs' output of model `m` (of `g`) on `x`, and onnxruntime's from the ONNX export of the same
 * weights: what every tfjs-against-onnxruntime check compares.
 */
export async function tfjsAndOnnxruntime(
  g: IRGraph,
  m: tf.LayersModel,
  x: tf.Tensor,
): Promise<{ want: Float32Array; got: Float32Array; dims: number[] }> {
  const want = (m.predict(x) as tf.Tensor).dataSync() as Float32Array;
  const got = await runOnnx(exportOnnx(g, m), x.dataSync() as Float32Array, x.shape, "cpu");
  return { want, got: got.data as Float32Array, dims: [...got.dims] };
}

/**
 * The ONNX export of `g` with random weights (seed 1) keeps outputs of order 1 on a batch of two:
 * root mean square between 0.1 and 10, and the two examples' outputs differ (the network does
 * not collapse to its biases), so comparisons below 1e-4 mean something.
 */
export async function expectRandomOutputsOrderOne(g: IRGraph): Promise<void> {
  const x = tf.randomNormal([2, ...g.input], 0, 1, "float32", 5);
  const y = await runOnnx(
    exportOnnx(g, undefined, { seed: 1 }),
    x.dataSync() as Float32Array,
    x.shape,
    "cpu",
  );
  x.dispose();
  const rms = Math.sqrt(y.data.reduce((s, v) => s + v * v, 0) / y.data.length);
  expect(rms).toBeGreaterThan(0.1);
  expect(rms).toBeLessThan(10);
  const half = y.data.length / 2;
  expect(maxAbsDiff(y.data.slice(0, half), y.data.slice(half))).toBeGreaterThan(0.01);
}
