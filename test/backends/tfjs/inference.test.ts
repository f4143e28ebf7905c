import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  fuseSteps,
  inferenceProgram,
  type ProgramSummary,
} from "../../../compiler/backends/tfjs/inference/index.js";
import {
  instantiatePlan,
  planForBuild,
  type BuildOptions,
} from "../../../compiler/backends/tfjs/model.js";
import { planModel, type LayerPlan } from "../../../compiler/backends/tfjs/plan.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { compileSpec } from "../../../compiler/index.js";
import type { IRGraph } from "../../../compiler/language/ir/types.js";
import { mustBuild } from "../../helpers.js";

const repo = join(import.meta.dirname, "..", "..", "..");

beforeAll(async () => {
  process.env["ARCHC_CACHE_DIR"] = join(repo, "test", ".generated", "cache");
  await initBackend("wasm");
});

/** Seeded uniform numbers in [lo, hi). */
function uniform(seed: number, n: number, lo: number, hi: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = lo + ((s >>> 0) / 2 ** 32) * (hi - lo);
  }
  return out;
}

/**
 * Batch norms with statistics far from the initial ones (mean 0, variance 1, gamma 1, beta 0),
 * and biases that are not zero, so a wrong fold shows.
 */
function perturb(model: tf.LayersModel): void {
  let seed = 7;
  for (const layer of model.layers)
    for (const w of layer.weights) {
      const name = w.originalName.split("/").pop()!;
      const range: Record<string, [number, number]> = {
        gamma: [0.5, 1.5],
        beta: [-0.3, 0.3],
        moving_mean: [-0.3, 0.3],
        moving_variance: [0.4, 1.6],
        bias: [-0.2, 0.2],
      };
      const r = range[name];
      if (!r) continue;
      const shape = w.shape as number[];
      const size = shape.reduce((a, b) => a * b, 1);
      w.write(tf.tensor(uniform(seed++, size, r[0], r[1]), shape));
    }
}

interface Agreement {
  /** Largest |program - model.predict| at the output, and the output's largest |value|. */
  readonly diff: number;
  readonly scale: number;
}

/**
 * The program against model.predict on the same (perturbed) weights, at the network's output and
 * at its global pooling (before the classifier's softmax flattens differences), and what the
 * program folded.
 */
function agreement(graph: IRGraph, batch: number, build: BuildOptions) {
  const plan = planForBuild(graph, build);
  const model = instantiatePlan(plan);
  const x = tf.tensor(uniform(3, batch * graph.input.reduce((a, b) => a * b, 1), -1, 1), [
    batch,
    ...graph.input,
  ]);
  try {
    perturb(model);
    const pooled = plan.layers.find((l) => l.kind === "globalAveragePooling2d");
    const at: Record<string, Agreement> = {};
    let summary: ProgramSummary | undefined;
    for (const out of [plan.output, ...(pooled ? [pooled.id] : [])]) {
      const layer = plan.layers.find((l) => l.id === out)!;
      const sub: LayerPlan = {
        ...plan,
        layers: plan.layers.slice(0, plan.layers.indexOf(layer) + 1),
        output: out,
      };
      const m =
        out === plan.output
          ? model
          : tf.model({
              inputs: model.inputs,
              outputs: model.getLayer(String(layer.config["name"])).output as tf.SymbolicTensor,
            });
      const program = inferenceProgram(sub, m);
      const want = m.predict(x) as tf.Tensor;
      const before = tf.memory().numTensors;
      const got = program.predict(x);
      // Nothing is left behind but the output.
      expect(tf.memory().numTensors).toBe(before + 1);
      // And the program's own tensors (folded, expanded weights) outlive a pass.
      const again = program.predict(x);
      expect(tf.tidy(() => tf.max(tf.abs(tf.sub(again, got))).dataSync()[0]!)).toBe(0);
      again.dispose();
      expect(got.shape).toEqual(want.shape);
      at[layer.kind] = {
        diff: tf.tidy(() => tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]!),
        scale: tf.tidy(() => tf.max(tf.abs(want)).dataSync()[0]!),
      };
      if (out === plan.output) summary = program.summary;
      tf.dispose([want, got]);
      program.dispose();
    }
    return { at, summary: summary! };
  } finally {
    x.dispose();
    model.dispose();
  }
}

/** Float32 rounding: far below what a wrong fold (a missing shift of ~0.3) would give. */
function expectAgreement(at: Record<string, Agreement>, what: string): void {
  for (const [kind, a] of Object.entries(at))
    expect(a.diff, `${what} at ${kind} (largest |y| ${a.scale})`).toBeLessThanOrEqual(
      1e-4 * Math.max(1, a.scale),
    );
}

describe("inference program: the model's forward pass as fused tensor ops", () => {
  it("mini_xception agrees with model.predict at every point of the continuum, each batch norm folded", () => {
    for (const parts of [1, 2, 4, 8, 16, "depthwise"] as const) {
      const graph = compileSpec(join(repo, "specs", "mini_xception.arch"), {
        args: parts === "depthwise" ? {} : { parts },
      });
      const { at, summary } = agreement(graph, 3, { batch: 3, mode: "forward" });
      expectAgreement(at, `parts = ${parts}`);
      const bns = graph.nodes.filter((n) => n.op === "bn").length;
      // Every batch norm follows a convolution that nothing else reads.
      expect(summary.foldedBatchNorms, `parts = ${parts}`).toBe(bns);
      expect(summary.fusedActivations, `parts = ${parts}`).toBeGreaterThan(0);
    }
  });

  // One test per point: each is a 36-convolution network, slow on a loaded machine.
  it.each([8, "depthwise"] as const)(
    "Xception at 71x71 agrees with model.predict (parts = %s)",
    (parts) => {
      const graph = compileSpec(join(repo, "specs", "xception.arch"), {
        args: parts === "depthwise" ? { size: 71 } : { size: 71, parts },
      });
      // A pinned strategy: timing every candidate for 34 grouped layers took a minute at load 25.
      const { at, summary } = agreement(graph, 1, { groupedStrategy: "native" });
      expectAgreement(at, `Xception parts = ${parts}`);
      expect(summary.foldedBatchNorms).toBe(graph.nodes.filter((n) => n.op === "bn").length);
    },
  );

  it("every grouped strategy gives the model's output", () => {
    const graph = mustBuild(
      "network n {\n  input 9x9x8\n  conv 3x3 16 parts=4 bias=true -> bn -> relu\n  gap\n}\n",
    );
    for (const strategy of ["split", "native", "interleave", "depthwise", "blockdiag", "dense"]) {
      const { at, summary } = agreement(graph, 2, { groupedStrategy: strategy });
      expectAgreement(at, strategy);
      expect(summary.foldedBatchNorms, strategy).toBe(1);
      expect(summary.fusedActivations, strategy).toBe(1);
    }
  });

  it("dense, its kernel expanded once, runs strided and dilated grouped layers as the model does", () => {
    const graph = mustBuild(
      [
        "network n {",
        "  input 13x13x12",
        "  conv 3x3/2 24 parts=3 bias=true -> bn -> relu",
        "  conv 3x3 24 parts=6 dilation=2 padding=same -> bn -> relu6",
        "  conv 3x3 24 parts=2 padding=valid -> bn",
        "  gap",
        "}",
        "",
      ].join("\n"),
    );
    const { at, summary } = agreement(graph, 3, { groupedStrategy: "dense" });
    expectAgreement(at, "dense");
    expect(summary.foldedBatchNorms).toBe(3);
    expect(summary.fusedActivations).toBe(2);
  });

  it("activations tfjs cannot fuse, leaky_relu's slope, dropout, dense with softmax", () => {
    const graph = mustBuild(
      [
        "network n {",
        "  input 12x12x3",
        "  conv 3x3 8 stride=2 bias=true -> bn -> leaky_relu",
        "  conv 3x3 8 dilation=2 padding=same -> bn -> gelu",
        "  sepconv 3x3 16 mid=relu -> bn -> elu",
        "  conv 1x1 16 parts=depthwise -> bn -> relu6",
        "  dropout 0.5",
        "  gap",
        "  dense 10 relu -> bn -> dense 5 softmax",
        "}",
        "",
      ].join("\n"),
    );
    const { at, summary } = agreement(graph, 4, { batch: 4, mode: "forward" });
    expectAgreement(at, "mixed");
    expect(summary.foldedBatchNorms).toBe(4); // the dense one follows relu: not folded
    // leaky_relu, mid's relu (into the depthwise step), elu, relu6, the dense relu.
    expect(summary.fusedActivations).toBe(5);
  });

  it("explicit padding (PyTorch's pad = N) runs inside the convolution kernel", () => {
    const graph = mustBuild(
      [
        "network n {",
        "  input 15x15x3",
        "  conv 7x7/2 8 pad=3 -> bn -> relu",
        "  conv 3x3 8 pad=[0, 1, 1, 2] bias=true -> bn",
        "  conv 3x3 8 parts=depthwise pad=1 -> bn -> relu",
        "  gap",
        "}",
        "",
      ].join("\n"),
    );
    const steps = fuseSteps(planModel(graph));
    // The two conv2d take their padding in; the depthwise keeps its ZeroPadding2D step.
    expect(steps.filter((s) => s.kind === "conv" && s.pads).length).toBe(2);
    expect(steps.filter((s) => s.kind === "layer" && s.layer.kind === "zeroPadding2d").length).toBe(
      1,
    );
    const { at, summary } = agreement(graph, 2, {});
    expectAgreement(at, "padded");
    expect(summary.foldedBatchNorms).toBe(3);
  });

  it("a convolution whose output a second layer reads keeps its batch norm apart", () => {
    const graph = mustBuild(
      [
        "network n {",
        "  input 8x8x4",
        "  conv 3x3 4 padding=same",
        "  residual { bn -> relu }",
        "  gap",
        "}",
        "",
      ].join("\n"),
    );
    const steps = fuseSteps(planModel(graph));
    const conv = steps.find((s) => s.kind === "conv")!;
    expect(conv.layers.map((l) => l.kind)).toEqual(["conv2d"]);
    const { at, summary } = agreement(graph, 2, {});
    expectAgreement(at, "shared");
    expect(summary.foldedBatchNorms).toBe(0);
  });
});
