import * as tf from "@tensorflow/tfjs";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { emitTorch } from "../../../compiler/backends/torch/emit.js";
import { probeFor } from "../../../compiler/backends/torch/probe.js";
import { maxAbsDiff, tempDir } from "../onnx/networks.js";
import {
  calibratedModel,
  expectIdentical,
  inCI,
  needPython,
  python,
  pythonProblem,
  repo,
  runIdentity,
  specNetwork,
  torchCase,
} from "./harness.js";

/**
 * ConvNeXt's layers (layernorm, gelu, layerscale, droppath) compute the same in tfjs, in
 * onnxruntime (layer norm and GELU decomposed for opset 13) and in the generated PyTorch module,
 * on a small ConvNeXt from the standard library's blocks; and the generated DropPath trains as
 * torchvision's StochasticDepth does. convnext_tiny itself is in torchvision.test.ts.
 */
const spec = join(repo, "test", "backends", "ts", "cases", "convnext.arch");
const problem = pythonProblem("torch, torchvision");

describe.skipIf(problem !== undefined && !inCI)("ConvNeXt's layers: tfjs, ONNX, PyTorch", () => {
  beforeAll(async () => {
    await initBackend("wasm");
  });

  it("a small ConvNeXt gives the same outputs in all three, at two widths and parts", async () => {
    needPython(problem, "python3-torchvision");
    const dir = tempDir("archc-convnext-");
    const net = specNetwork(spec);
    const module = emitTorch(net.build([]), { probe: probeFor(net.program, net.net, []) });
    expect(module).toContain("class ChannelLayerNorm(nn.Module):");
    expect(module).toContain("LayerScale(");
    expect(module).toContain("DropPath(");
    // Blocks differ in their droppath rate, a fraction: the class's slot is typed float.
    expect(module).toContain(
      "def __init__(self, in_channels: int, filters: int, rate: float, parts: Union[int, str]):",
    );
    // GELU fused into the 1x1 convolution as its activation (Activation's F.gelu: the erf form).
    expect(module).toContain('activation="gelu"');
    const entries = [];
    for (const sets of [[], ["parts=4", "width=8"]]) {
      const g = net.build(sets);
      const x = tf.randomNormal([4, ...g.input], 0, 1, "float32", 5);
      const model = calibratedModel(g, x);
      const name = sets.length ? "grouped" : "defaults";
      const m = emitTorch(g, { probe: probeFor(net.program, net.net, sets) });
      const { entry, ref, ort } = await torchCase(dir, name, g, model, x, m);
      expect(maxAbsDiff(ref, ort), `${name}: tfjs vs onnxruntime`).toBeLessThan(1e-5);
      entries.push(entry);
      x.dispose();
      model.dispose();
    }
    for (const r of runIdentity(dir, entries)) expectIdentical(r);
  }, 300_000);

  it("the generated DropPath is torchvision's StochasticDepth in training, seeded", () => {
    needPython(problem, "python3-torchvision");
    const dir = tempDir("archc-convnext-drop-");
    const net = specNetwork(spec);
    const file = join(dir, "convnext_small.py");
    writeFileSync(file, emitTorch(net.build([]), { probe: probeFor(net.program, net.net, []) }));
    const r = spawnSync(python, [join(import.meta.dirname, "convnext.py"), file], {
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, number>;
    const label = JSON.stringify(out);
    expect(out["train_on"], label).toBeLessThan(1e-6);
    expect(out["train_off"], label).toBe(0);
    // 512 examples at p = 0.3: the fraction dropped is within 0.1 of it.
    expect(Math.abs(out["dropped_on"]! - 0.3), label).toBeLessThan(0.1);
    expect(out["eval_on"], label).toBe(0);
    expect(out["same_seed"], label).toBe(0);
    expect(out["other_seed"], label).toBeGreaterThan(1e-3);
  }, 120_000);
});
