import * as tf from "@tensorflow/tfjs";
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { exportOnnx } from "../../../compiler/backends/onnx/export.js";
import { runOnnx } from "../../../compiler/backends/onnx/runtime.js";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { compileSpec, type IRGraph } from "../../../compiler/index.js";
import type { NodeOf } from "../../../compiler/language/ir/types.js";
import { loadProgram } from "../../../compiler/language/program.js";
import { mustBuild } from "../../helpers.js";
import { inCI, needPython, python, pythonProblem, repo } from "../torch/python.js";
import { edgeSpec, imageSpec, plan, randomizeNonKernels, tempDir } from "./networks.js";

/**
 * The official ONNX checker and PyTorch, as oracles independent of archc and of onnxruntime.
 * Debian's python3-onnx and python3-torch provide them (CI installs both: .ci/run). Where they
 * are missing, CI fails these tests with the reason; anywhere else they are reported skipped.
 */
const script = join(import.meta.dirname, "interop.py");
const problem = pythonProblem("onnx, torch");

describe.skipIf(problem !== undefined && !inCI)("ONNX interop: onnx.checker and PyTorch", () => {
  beforeAll(async () => {
    process.env["ARCHC_CACHE_DIR"] = join(repo, "test", ".generated", "cache");
    await initBackend("wasm");
  });

  // Each test fails on its own (not the suite in a hook), so CI's count of failed tests shows it.
  const needOracles = () => needPython(problem, "python3-onnx python3-torch");

  it("every spec's network, exported, passes onnx.checker.check_model(full_check=True)", () => {
    needOracles();
    const dir = tempDir("archc-onnx-check-");
    const graphs: [string, IRGraph][] = [];
    // Every network declared in the shipped specs and the example, with its default arguments.
    const files = [
      ...["xception", "inception_v3", "continuum", "mini_xception"].map((f) =>
        join(repo, "specs", `${f}.arch`),
      ),
      join(repo, "examples", "tiny.arch"),
    ];
    for (const file of files)
      for (const network of loadProgram(file).table.networks.keys())
        graphs.push([network, compileSpec(file, { network })]);
    // And the variants that reach the other lowerings: grouped separable convs with a mid
    // activation, pointwise-first at other parts, every op (edges), NCHW input.
    graphs.push(
      [
        "xception_parts4_elu",
        compileSpec(join(repo, "specs", "xception.arch"), {
          args: { parts: 4, mid: "elu", size: 71, classes: 10 },
        }),
      ],
      [
        "continuum_spatial_first_8",
        compileSpec(join(repo, "specs", "continuum.arch"), {
          network: "continuum",
          args: { parts: 8, order: "spatial_first" },
        }),
      ],
      ["edges", mustBuild(edgeSpec)],
    );
    const paths = graphs.map(([name, g]) => {
      const path = join(dir, `${name}.onnx`);
      writeFileSync(path, exportOnnx(g, undefined));
      return path;
    });
    const nchw = join(dir, "image_nchw.onnx");
    writeFileSync(nchw, exportOnnx(mustBuild(imageSpec), undefined, { inputLayout: "nchw" }));
    paths.push(nchw);
    expect(graphs.map(([n]) => n)).toEqual(
      expect.arrayContaining(["xception", "inception_v3", "fig1_canonical", "continuum", "tiny"]),
    );
    const r = spawnSync(python, [script, "check", ...paths], { encoding: "utf8" });
    const lines = r.stdout
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { file: string; ok: boolean; error?: string; opset: number[] });
    for (const l of lines) expect(l.ok, `${l.file}: ${l.error}`).toBe(true);
    expect(
      lines.map((l) => l.file),
      r.stderr,
    ).toEqual(paths);
    expect(lines.every((l) => l.opset[0] === 13)).toBe(true);
    expect(r.status, r.stderr).toBe(0);
  });

  it("grouped and depthwise convolutions equal PyTorch's nn.Conv2d(groups=...) on the same weights", async () => {
    needOracles();
    // Known weights: the tfjs model's, handed to PyTorch in tfjs' own layouts, so the HWIO ->
    // OIHW conversion the exporter does is checked against PyTorch's convention, not against
    // itself. Stride-2 'same' on 14x11 (one extra pixel at the bottom, none at the right), dilation 2, 'valid', parts 4, 2, 3 and depthwise
    // with a multiplier.
    const g = mustBuild(`network grouped {
  input 14x11x8
  conv 3x3/2 12 parts=4 -> relu
  conv 3x3 8 parts=2 dilation=2
  conv 3x3 16 parts=depthwise -> relu
  conv 3x3 12 parts=4 valid bias=false
  conv 1x1 6 parts=3
}
`);
    const m = buildModelFromIR(g, plan);
    randomizeNonKernels(m);
    const convs = g.nodes.filter((n): n is NodeOf<"conv"> => n.op === "conv");
    const classes = convs.map((n) => m.getLayer(n.name).getClassName());
    expect(classes).toContain("GroupedConv2D");
    expect(classes).toContain("DepthwiseConv2D");
    const layers = convs.map((n) => {
      const layer = m.getLayer(n.name);
      const [kernel, bias] = layer.getWeights();
      const next = g.nodes[n.id + 1];
      return {
        class: layer.getClassName(),
        kernel: Array.from(kernel!.dataSync()),
        kernel_shape: kernel!.shape,
        bias: bias ? Array.from(bias.dataSync()) : null,
        strides: n.attrs.strides,
        dilation: n.attrs.dilation,
        padding: n.attrs.padding,
        groups: n.attrs.groups,
        activation: next?.op === "act" ? next.attrs.activation : "none",
      };
    });
    const x = tf.randomNormal([2, ...g.input], 0, 1, "float32", 9);
    const input = x.dataSync() as Float32Array;
    const ort = await runOnnx(exportOnnx(g, m), input, x.shape, "cpu");
    const tfjs = (m.predict(x) as tf.Tensor).dataSync();
    const dir = tempDir("archc-onnx-torch-");
    const casePath = join(dir, "case.json");
    writeFileSync(
      casePath,
      JSON.stringify({
        input_shape: x.shape,
        input: Array.from(input),
        layers,
        onnxruntime: Array.from(ort.data),
        tfjs: Array.from(tfjs),
      }),
    );
    const r = JSON.parse(
      execFileSync(python, [script, "torch", casePath], { encoding: "utf8" }),
    ) as {
      onnxruntime: number;
      tfjs: number;
      elements: number;
    };
    expect(r.elements).toBe(ort.data.length);
    expect(r.onnxruntime, `onnxruntime vs PyTorch ${r.onnxruntime}`).toBeLessThan(1e-4);
    expect(r.tfjs, `tfjs vs PyTorch ${r.tfjs}`).toBeLessThan(1e-4);
    m.dispose();
  });
});
