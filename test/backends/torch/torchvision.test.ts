import * as tf from "@tensorflow/tfjs";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { weightsFromTfjs } from "../../../compiler/backends/onnx/weights.js";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { torchModulePaths } from "../../../compiler/backends/torch/emit.js";
import { safetensors, torchStateDict } from "../../../compiler/backends/torch/weights.js";
import type { IRGraph, IRNode } from "../../../compiler/language/ir/types.js";
import {
  calibrateBatchNorm,
  plan,
  randomizeNonKernels,
  tempDir,
  withoutSoftmax,
} from "../onnx/networks.js";
import { mustBuildFile } from "../../helpers.js";
import { inCI, needPython, pythonProblem, repo, runCases } from "./python.js";

/**
 * archc's networks against torchvision's, on the same weights: archc's tfjs model gets random
 * weights with batch norms calibrated so activations are O(1); parity.py loads the same tensors
 * into torchvision's model (matched layer by layer by their place in the data flow, with a shape
 * check at each) and compares the logits on the same input: below 1e-4, or within twice the
 * distance float32 rounding alone puts between torchvision and its own float64 result where that
 * is larger (deep random networks amplify rounding: ResNet-50 at 64x64 up to ~2e-4). Reduced input
 * sizes (every layer still runs; torchvision's nets pool adaptively) keep this to about a minute
 * on two cores. Debian's python3-torchvision is the oracle; CI installs it.
 */
const script = join(import.meta.dirname, "parity.py");
const problem = pythonProblem("torch, torchvision, numpy");
if (problem && !inCI) console.log(`torchvision parity skipped: ${problem}`);

interface Case {
  readonly name: string;
  /** The spec, a path relative to the repository. */
  readonly spec: string;
  readonly network?: string;
  readonly sets: readonly string[];
  /** The torchvision constructor, and its keyword arguments. */
  readonly model: string;
  readonly kwargs?: Record<string, number>;
  /** archc's side with TensorFlow's `same` padding wherever the spec pads explicitly. */
  readonly same?: boolean;
  /** What the case must show: agreement, disagreement, or that the two do not fit together. */
  readonly expect: "equal" | "differ" | "mismatch";
  /** For "mismatch": what the error must say. */
  readonly error?: RegExp;
  /** archc's side (model, weights, input, logits) taken from that earlier case. */
  readonly like?: string;
}

/**
 * A case at 64x64 with 10 classes, archc's and (where `more` does not say otherwise)
 * torchvision's: `spec` is a file of specs/ or a path relative to the repository.
 */
function at64(
  name: string,
  spec: string,
  model: string,
  outcome: Case["expect"],
  more: Partial<Case> = {},
): Case {
  const path = spec.includes("/") ? spec : `specs/${spec}`;
  const sets = ["size=64", "classes=10"];
  return { name, spec: path, sets, model, kwargs: { num_classes: 10 }, expect: outcome, ...more };
}
const resnet18 = "test/backends/torch/fixtures/resnet18.arch";

const cases: Case[] = [
  // The spec library's torchvision networks at 64x64: every stride-2 layer reads an even map
  // (64, 32, 16, 8, 4), where only explicit padding (`pad = 1`, the specs' own) pads as
  // torchvision does.
  ...["resnet50", "resnext50_32x4d", "mobilenet_v2"].map((m) => at64(m, `${m}.arch`, m, "equal")),
  // RegNetY: grouped 3x3 convolutions and squeeze-and-excitation (archc's dense layers on the
  // pooled vector, torchvision's 1x1 convolutions on the pooled map).
  at64("regnet_y_400mf", "regnet_y_400mf.arch", "regnet_y_400mf", "equal"),
  // RegNetX: the same bottleneck without squeeze-and-excitation, widths 32, 64, 160, 400 from
  // the design-space rule and made multiples of the group width 16.
  at64("regnet_x_400mf", "regnet_x_400mf.arch", "regnet_x_400mf", "equal"),
  // MobileNetV3-Large: hard_swish, squeeze-and-excitation gated by h_sigmoid (torchvision's
  // Hardsigmoid), 5x5 depthwise convolutions padded 2, a dense + hard_swish + dropout head.
  at64("mobilenet_v3_large", "mobilenet_v3_large.arch", "mobilenet_v3_large", "equal"),
  // EfficientNet-B0: SiLU (`swish`), squeeze-and-excitation in every unit; stochastic depth is
  // the identity in eval mode.
  at64("efficientnet_b0", "efficientnet_b0.arch", "efficientnet_b0", "equal"),
  // ConvNeXt-T: a 4x4/4 stem, 7x7 depthwise convolutions padded 3, layer norms over channels
  // (torchvision's LayerNorm2d and channels-last nn.LayerNorm), 1x1 convolutions for its Linear
  // layers, exact GELU and layer scale; stochastic depth is the identity in eval mode. At 32x32
  // the last stage still runs on a 1x1 map.
  {
    ...at64("convnext_tiny", "convnext_tiny.arch", "convnext_tiny", "equal"),
    sets: ["size=32", "classes=10"],
  },
  // ShuffleNet v2 x1.0: the channel split (`split`) into an identity half and a convolved half,
  // concatenated and shuffled in 2 groups; the stride-2 units convolve both halves. parity.py's
  // tracer keeps torchvision's channel_shuffle whole, which torch.fx cannot trace.
  at64("shufflenet_v2_x1_0", "shufflenet_v2_x1_0.arch", "shufflenet_v2_x1_0", "equal"),
  // GoogLeNet and SqueezeNet 1.1: max pools with ceil_mode (`ceil = true`) at every size, where
  // 64x64 gives odd maps (31 -> 16, 15 -> 8, 7 -> 4; GoogLeNet's last 2x2/2 pool rounds 5 up to
  // 3); GoogLeNet's pool branch pads 1 and keeps the size; SqueezeNet classifies by a 1x1
  // convolution before the global pool.
  at64("googlenet", "googlenet.arch", "googlenet", "equal", {
    kwargs: { num_classes: 10, aux_logits: 0, init_weights: 0 },
  }),
  at64("squeezenet1_1", "squeezenet1_1.arch", "squeezenet1_1", "equal"),
  // The negative control: the same spec with TensorFlow's `same` in place of its pads puts the
  // odd pixel of every stride-2 layer at the bottom and right, where torchvision pads one on
  // each side.
  at64("mobilenet_v2_same_even", "mobilenet_v2.arch", "mobilenet_v2", "differ", { same: true }),
  // A torchvision ResNet written with its projection shortcut declared before the block it
  // bypasses: the matching goes by the data flow, not by declaration order. Explicit padding
  // makes it torchvision's at any size; `same` in its place does not at even sizes.
  at64("resnet18_projection_first", resnet18, "resnet18", "equal"),
  at64("resnet18_same_padding", resnet18, "resnet18", "differ", { same: true }),
  // The matching refuses a network that is not torchvision's, naming what disagrees.
  at64("resnet18_vs_resnet34", resnet18, "resnet34", "mismatch", {
    error: /: archc has 41 layers with weights, torchvision 73$/,
    like: "resnet18_projection_first",
  }),
  at64("resnet18_vs_1000_classes", resnet18, "resnet18", "mismatch", {
    kwargs: {},
    error:
      /archc's dense \[\[10, 512\], \[10\]\] has no counterpart among torchvision's \['fc \[\[1000, 512\], \[1000\]\]'\]/,
    like: "resnet18_projection_first",
  }),
];

/** One case as parity.py reads it. */
interface Entry {
  readonly name: string;
  readonly spec: string;
  readonly model: string;
  readonly kwargs: Record<string, number>;
  readonly weights: string;
  readonly graph: ReturnType<typeof structure>;
  readonly input: string;
  readonly input_shape: readonly number[];
  readonly archc: string;
  /** Whether to measure torchvision's own float32 noise when archc is 1e-4 or more away. */
  readonly noise: boolean;
}

/** The keys a node's tensors have in torchStateDict, by the part of the node that holds them. */
const suffixes = {
  whole: ["weight", "bias", "running_mean", "running_var"],
  spatial: ["spatial.weight", "spatial.bias"],
  pointwise: ["pointwise.weight", "pointwise.bias"],
};

/**
 * The graph's data flow for parity.py: nodes in topological order with their inputs and the
 * state-dict keys of their tensors. A separable convolution is two of torchvision's modules, so
 * two nodes here, in the order the data goes through them.
 */
function structure(g: IRGraph, keys: ReadonlySet<string>) {
  const paths = torchModulePaths(g);
  const nodes: { name: string; inputs: number[]; keys: string[] }[] = [];
  const last = new Map<number, number>();
  const own = (p: string | undefined, part: keyof typeof suffixes) =>
    p === undefined ? [] : suffixes[part].map((s) => `${p}.${s}`).filter((k) => keys.has(k));
  for (const node of g.nodes) {
    const p = paths.get(node.id);
    const inputs = node.inputs.map((i) => last.get(i)!);
    if (node.op === "sepconv") {
      const steps: ("spatial" | "pointwise")[] =
        node.attrs.order === "spatial_first" ? ["spatial", "pointwise"] : ["pointwise", "spatial"];
      for (const [k, step] of steps.entries())
        nodes.push({
          name: `${node.name} (${step})`,
          inputs: k === 0 ? inputs : [nodes.length - 1],
          keys: own(p, step),
        });
    } else nodes.push({ name: node.name, inputs, keys: own(p, "whole") });
    last.set(node.id, nodes.length - 1);
  }
  return nodes;
}

/**
 * Glorot-uniform kernels as tfjs initialises them, but from fixed seeds, so that every run
 * compares the same weights (the bounds below are a small factor above float32 noise, which
 * depends on the weights).
 */
function seedKernels(model: tf.LayersModel, seed = 1000): void {
  for (const w of model.weights) {
    if (!w.originalName.endsWith("kernel")) continue;
    const shape = w.shape as number[];
    const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
    const [fanIn, fanOut] = [shape.at(-2)! * receptive, shape.at(-1)! * receptive];
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const v = tf.randomUniform(shape, -limit, limit, "float32", seed++);
    w.write(v);
    v.dispose();
  }
}

/**
 * The graph with TensorFlow's `same` wherever it pads explicitly: the same shapes, parameters and
 * MACs where torchvision pads (k - 1) / 2 on each side, but at even sizes the odd pixel of each
 * stride-2 layer goes to the bottom and right; the 22-44% (relative) differences.
 */
function withSamePadding(g: IRGraph): IRGraph {
  let changed = 0;
  const nodes = g.nodes.map((n): IRNode => {
    if (!("pads" in n.attrs) || n.op === "zeropad") return n;
    changed++;
    const { pads: _, ...attrs } = n.attrs;
    return { ...n, attrs: { ...attrs, padding: "same" } } as IRNode;
  });
  if (changed === 0) throw new Error(`${g.network} pads nothing explicitly`);
  return { ...g, nodes };
}

/** The graph whose output is the input of its final softmax layer: torchvision's logits. */
function beforeSoftmax(g: IRGraph): IRGraph {
  const out = g.nodes[g.output]!;
  if (g.output !== g.nodes.length - 1) throw new Error(`${g.network}: the softmax is not last`);
  return { ...g, nodes: g.nodes.slice(0, -1), output: out.inputs[0]! };
}

function graphOf(c: Case): IRGraph {
  const g = mustBuildFile(join(repo, c.spec), c.network, c.sets);
  const last = g.nodes[g.output]!;
  if (last.op === "act" && last.attrs.activation === "softmax") return beforeSoftmax(g);
  return last.op === "dense" && last.attrs.activation === "softmax" ? withoutSoftmax(g) : g;
}

describe.skipIf(problem !== undefined && !inCI)("archc vs torchvision on the same weights", () => {
  beforeAll(async () => {
    await initBackend("wasm");
  });

  it("gives torchvision's logits, and differs where the padding does", async () => {
    needPython(problem, "python3-torchvision");
    const dir = tempDir("archc-torchvision-");
    const entries: Entry[] = [];
    for (const c of cases) {
      if (c.like) {
        const e = entries.find((e) => e.name === c.like)!;
        entries.push({ ...e, name: c.name, model: c.model, kwargs: c.kwargs ?? {}, noise: false });
        continue;
      }
      const g = c.same ? withSamePadding(graphOf(c)) : graphOf(c);
      const model = buildModelFromIR(g, plan);
      seedKernels(model);
      randomizeNonKernels(model);
      // Batch norms calibrated on 8 inputs, compared on 2 of them: statistics of more values per
      // channel at the smallest maps make gentler normalisations, which amplify float32 rounding
      // less (ResNet-50 at 64x64: torchvision's own float32 noise 5e-5 to 9e-5 instead of 2e-4).
      const calibration = tf.randomNormal([8, ...g.input], 0, 1, "float32", 7);
      calibrateBatchNorm(g, model, calibration);
      const x = calibration.slice(0, 2);
      calibration.dispose();
      const y = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
      const state = torchStateDict(g, weightsFromTfjs(model, g));
      const base = join(dir, c.name);
      writeFileSync(`${base}.safetensors`, safetensors(state));
      writeFileSync(`${base}.x.f32`, x.dataSync() as Float32Array);
      writeFileSync(`${base}.archc.f32`, y);
      entries.push({
        name: c.name,
        spec: c.network ? `${c.spec} (${c.network})` : c.spec,
        model: c.model,
        kwargs: c.kwargs ?? {},
        weights: `${base}.safetensors`,
        graph: structure(g, new Set(state.keys())),
        input: `${base}.x.f32`,
        input_shape: x.shape,
        archc: `${base}.archc.f32`,
        noise: c.expect === "equal",
      });
      x.dispose();
      model.dispose();
    }
    const results = runCases(script, dir, entries);
    console.log(results.map((r) => JSON.stringify(r)).join("\n"));
    for (const [i, c] of cases.entries()) {
      const r = results[i]!;
      const label = JSON.stringify(r);
      if (c.expect === "mismatch") {
        expect(r["error"], label).toMatch(/^archc's \S+\.arch vs torchvision's \w+: /);
        expect(r["error"], label).toMatch(c.error!);
        continue;
      }
      expect(r["error"], label).toBeUndefined();
      // Activations O(1): the logits are not vanishingly small, so 1e-4 means something.
      expect(r["scale"] as number, label).toBeGreaterThan(0.1);
      if (c.expect === "differ") {
        expect(r["diff"] as number, label).toBeGreaterThan(1e-2);
        continue;
      }
      if ((r["diff"] as number) < 1e-4) continue;
      // Deep networks with random weights amplify float32 rounding to ~1e-4 of O(1) logits, in
      // torchvision as in archc. Then archc's logits must be no further from torchvision's exact
      // (float64) logits than twice torchvision's own float32 logits are ("noise"), and that
      // noise well below what any real difference gives (the negative controls: over 1).
      const noise = r["noise"] as number;
      expect(noise, `${label}: torchvision's own float32 rounding`).toBeLessThan(1e-3);
      expect(r["float64"] as number, label).toBeLessThan(Math.max(1e-4, 2 * noise));
    }
  }, 600_000);
});
