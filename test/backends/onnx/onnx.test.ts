import * as tf from "@tensorflow/tfjs";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  exportOnnx,
  onnxParameters,
  randomWeights,
  RANDOM_RANGES,
  tfPads,
  type OnnxTensor,
} from "../../../compiler/backends/onnx/export.js";
import { decodeModel, ModelProto } from "../../../compiler/backends/onnx/proto.js";
import { openOnnx, runOnnx } from "../../../compiler/backends/onnx/runtime.js";
import { saveTfjsModel } from "../../../compiler/backends/onnx/tfjs.js";
import { weightsFromTfjs } from "../../../compiler/backends/onnx/weights.js";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { compileSpec, type IRGraph } from "../../../compiler/index.js";
import { saveCheckpoint } from "../../../compiler/lab/train/checkpoint.js";
import { mustBuild, runCli } from "../../helpers.js";
import {
  calibrateBatchNorm,
  edgeSpec,
  expectRandomOutputsOrderOne,
  imageSpec,
  maxAbsDiff,
  plan,
  randomizeNonKernels,
  tempDir,
  withoutSoftmax,
  tfjsAndOnnxruntime,
} from "./networks.js";

const repo = join(import.meta.dirname, "..", "..", "..");
const spec = (f: string) => join(repo, "specs", f);

beforeAll(async () => {
  process.env["ARCHC_CACHE_DIR"] = join(repo, "test", ".generated", "cache");
  await initBackend("wasm");
});

/** tfjs' output and onnxruntime's for one graph, weights and input (a seeded batch of 2). */
async function compare(g: IRGraph, m: tf.LayersModel, seed = 7) {
  const x = tf.randomNormal([2, ...g.input], 0, 1, "float32", seed);
  const { want, got, dims } = await tfjsAndOnnxruntime(g, m, x);
  x.dispose();
  expect(dims).toEqual([2, ...g.nodes[g.output]!.shape]);
  return maxAbsDiff(want, got);
}

/**
 * A network that ends in softmax, twice: as logits (softmax removed from the IR, so both
 * runtimes are compared before anything flattens differences) and as written, against tfjs'
 * softmax of the same logits. With `calibrate`, batch norms first take statistics measured on
 * that many seeded inputs, so activations stay near unit scale to the end (see
 * calibrateBatchNorm); without, the network keeps tfjs' initialisation, under which activations
 * shrink with depth.
 */
async function compareWithAndWithoutSoftmax(g: IRGraph, calibrate?: number) {
  const logits = withoutSoftmax(g);
  const m = buildModelFromIR(logits, plan);
  randomizeNonKernels(m);
  const x = tf.randomNormal([2, ...g.input], 0, 1, "float32", 11);
  if (calibrate) {
    const c = tf.randomNormal([calibrate, ...g.input], 0, 1, "float32", 12);
    calibrateBatchNorm(logits, m, c);
    c.dispose();
  }
  const y = m.predict(x) as tf.Tensor;
  const want = y.dataSync();
  const wantSoftmax = tf.softmax(y).dataSync();
  const w = weightsFromTfjs(m, logits);
  m.dispose();
  const input = x.dataSync() as Float32Array;
  const a = await runOnnx(exportOnnx(logits, w), input, x.shape, "cpu");
  const b = await runOnnx(exportOnnx(g, w), input, x.shape, "cpu");
  x.dispose();
  y.dispose();
  return {
    logits: maxAbsDiff(want, a.data),
    softmax: maxAbsDiff(wantSoftmax, b.data),
    scale: Math.max(...Array.from(want, Math.abs)),
  };
}

describe("ONNX encoding", () => {
  it("uses the official onnx.proto3 field numbers", () => {
    // A few fields from each message, as numbered in github.com/onnx/onnx onnx/onnx.proto3.
    const expected: [string, string, number][] = [
      ["ModelProto", "ir_version", 1],
      ["ModelProto", "opset_import", 8],
      ["ModelProto", "producer_name", 2],
      ["ModelProto", "graph", 7],
      ["GraphProto", "node", 1],
      ["GraphProto", "initializer", 5],
      ["GraphProto", "input", 11],
      ["GraphProto", "output", 12],
      ["NodeProto", "op_type", 4],
      ["NodeProto", "attribute", 5],
      ["NodeProto", "domain", 7],
      ["AttributeProto", "type", 20],
      ["AttributeProto", "f", 2],
      ["AttributeProto", "i", 3],
      ["AttributeProto", "ints", 8],
      ["TensorProto", "dims", 1],
      ["TensorProto", "data_type", 2],
      ["TensorProto", "name", 8],
      ["TensorProto", "raw_data", 9],
      ["ValueInfoProto", "type", 2],
      ["TypeProto", "tensor_type", 1],
      ["TypeProto.Tensor", "elem_type", 1],
      ["TypeProto.Tensor", "shape", 2],
      ["TensorShapeProto", "dim", 1],
      ["TensorShapeProto.Dimension", "dim_value", 1],
      ["TensorShapeProto.Dimension", "dim_param", 2],
      ["OperatorSetIdProto", "version", 2],
    ];
    const root = ModelProto.root;
    for (const [message, field, id] of expected)
      expect(root.lookupType(`onnx.${message}`).fields[field]?.id, `${message}.${field}`).toBe(id);
    // And on the wire: ir_version 7 is field 1, varint: bytes 0x08 0x07 first.
    const bytes = exportOnnx(mustBuild("network n {\n  input 4x4x1\n  relu\n}\n"), undefined);
    expect([...bytes.subarray(0, 2)]).toEqual([0x08, 0x07]);
  });

  it("reproduces TensorFlow's 'same' padding: output ceil(in / stride), odd pixel bottom/right", () => {
    expect(tfPads([15, 13], [3, 3], [2, 2], [1, 1], "same")).toEqual([1, 1, 1, 1]);
    expect(tfPads([14, 14], [3, 3], [2, 2], [1, 1], "same")).toEqual([0, 0, 1, 1]);
    expect(tfPads([9, 9], [3, 3], [1, 1], [2, 2], "same")).toEqual([2, 2, 2, 2]);
    expect(tfPads([8, 8], [2, 2], [1, 1], [1, 1], "same")).toEqual([0, 0, 1, 1]);
    expect(tfPads([9, 9], [3, 3], [1, 1], [1, 1], "valid")).toEqual([0, 0, 0, 0]);
    // Every small case: ONNX's floor-mode output size with these pads is TensorFlow's.
    for (let n = 1; n <= 12; n++)
      for (const k of [1, 2, 3, 5])
        for (const s of [1, 2, 3])
          for (const d of [1, 2]) {
            const [top, , bottom] = tfPads([n, n], [k, k], [s, s], [d, d], "same");
            const out = Math.floor((n + top! + bottom! - (k - 1) * d - 1) / s) + 1;
            expect(out, `in ${n} k ${k} s ${s} d ${d}`).toBe(Math.ceil(n / s));
            expect(bottom! - top!).toBeGreaterThanOrEqual(0);
            expect(bottom! - top!).toBeLessThanOrEqual(1);
          }
  });

  it("declares NHWC input and output, opset 13, grouped Conv with `group` and explicit pads", () => {
    const g = mustBuild(edgeSpec);
    const model = decodeModel(exportOnnx(g, undefined));
    // proto3 leaves fields at their default off the wire: the empty domain, an int 0.
    expect(model.opset_import).toEqual([{ version: 13 }]);
    const dims = (v: (typeof model.graph.input)[number]) =>
      v.type.tensor_type.shape.dim.map((d) => ("dim_value" in d ? d.dim_value : d.dim_param));
    expect(dims(model.graph.input[0]!)).toEqual(["N", 61, 57, 3]);
    expect(dims(model.graph.output[0]!)).toEqual(["N", 10]);
    expect(model.graph.node[0]!.op_type).toBe("Transpose");
    const conv = model.graph.node.find((n) => n.name === "conv_2")!;
    const attr = (name: string) => conv.attribute.find((a) => a.name === name)!;
    expect(attr("group").i).toBe(4);
    expect(attr("pads").ints).toEqual([0, 0, 0, 0]);
    const pool = model.graph.node.find((n) => n.name === "avgpool")!;
    // 3x3/2 'same' on 8x7: totals 1 and 2, so [top 0, left 1, bottom 1, right 1].
    expect(pool.attribute.find((a) => a.name === "pads")!.ints).toEqual([0, 1, 1, 1]);
    const countPad = pool.attribute.find((a) => a.name === "count_include_pad")!;
    expect([countPad.type, countPad.i ?? 0]).toEqual([2, 0]);
    const ops = new Set(model.graph.node.map((n) => n.op_type));
    for (const op of ["AveragePool", "MaxPool", "Sum", "Concat", "Gemm", "Erf", "Flatten"])
      expect(ops, op).toContain(op);
    expect(ops).not.toContain("Dropout");
  });

  it("holds exactly the IR's parameters, by layer name", () => {
    for (const parts of [1, 4, "depthwise"]) {
      const g = compileSpec(spec("xception.arch"), { args: { parts, size: 71, mid: "relu" } });
      const n = onnxParameters(g).reduce((a, p) => a + p.dims.reduce((x, y) => x * y, 1), 0);
      expect(n, String(parts)).toBe(g.totals.params.total);
    }
    const names = onnxParameters(mustBuild(edgeSpec)).map((p) => p.name);
    expect(names).toContain("sepconv/spatial/kernel");
    expect(names).toContain("sepconv/pointwise/kernel");
    expect(names).toContain("bn_1/beta");
    expect(names).not.toContain("bn_1/gamma");
  });

  it("random weights are seeded: Glorot kernels, and no parameter left at 0 or 1", () => {
    const g = mustBuild(edgeSpec);
    expect(exportOnnx(g, undefined, { seed: 3 })).toEqual(exportOnnx(g, undefined, { seed: 3 }));
    expect(exportOnnx(g, undefined, { seed: 3 })).not.toEqual(
      exportOnnx(g, undefined, { seed: 4 }),
    );
    const w = randomWeights(g);
    const k = w.get("conv/kernel")!;
    const limit = Math.sqrt(6 / (3 * 9 + 8 * 9));
    expect(Math.max(...k.data.map(Math.abs))).toBeLessThanOrEqual(limit);
    expect(Math.max(...k.data.map(Math.abs))).toBeGreaterThan(limit * 0.8);
    const spread = (name: string): [number, number] => {
      const d = [...w.get(name)!.data];
      return [Math.min(...d), Math.max(...d)];
    };
    // A fresh tfjs model has these at exactly 0 (bias, beta, mean) or 1 (gamma, variance).
    for (const name of [
      "conv/bias",
      "bn/gamma",
      "bn/beta",
      "bn/moving_mean",
      "bn/moving_variance",
    ]) {
      const [lo, hi] = spread(name);
      expect(hi - lo, name).toBeGreaterThan(0.05);
    }
    const [gLo, gHi] = spread("bn/gamma");
    expect([gLo >= RANDOM_RANGES.gamma[0], gHi <= RANDOM_RANGES.gamma[1]]).toEqual([true, true]);
    expect(Math.min(...spread("bn/moving_variance"))).toBeGreaterThan(0);
  });

  it("random weights keep Xception's logits of order 1, so comparisons below 1e-4 mean something", async () => {
    // Under batch norms at identity Xception's logits were about 1e-4: any two exports "agreed".
    const g = withoutSoftmax(
      compileSpec(spec("xception.arch"), { args: { size: 71, classes: 10, mid: "relu" } }),
    );
    await expectRandomOutputsOrderOne(g);
  });

  it("refuses weights that are missing or of the wrong shape, naming them", () => {
    const g = mustBuild("network n {\n  input 8x8x4\n  conv 3x3 8 parts=2\n}\n");
    const w = randomWeights(g);
    const partial = new Map(w);
    partial.delete("conv/bias");
    expect(() => exportOnnx(g, partial)).toThrow(/no weights for 'conv\/bias'/);
    const wrong = new Map<string, OnnxTensor>(w);
    wrong.set("conv/kernel", { dims: [8, 4, 3, 3], data: new Float32Array(288) });
    expect(() => exportOnnx(g, wrong)).toThrow(
      /'conv\/kernel' have shape \[8, 4, 3, 3\].*\[8, 2, 3, 3\]/,
    );
  });
});

describe("onnxruntime-node gives the tfjs model's outputs", () => {
  it("every op and corner case, on logits", async () => {
    const g = mustBuild(edgeSpec);
    const m = buildModelFromIR(g, plan);
    randomizeNonKernels(m);
    expect(await compare(g, m)).toBeLessThan(1e-4);
    m.dispose();
  });

  it("NCHW in and out as an option, the same numbers transposed", async () => {
    const g = mustBuild(imageSpec);
    const m = buildModelFromIR(g, plan);
    randomizeNonKernels(m);
    expect(await compare(g, m)).toBeLessThan(1e-4);
    const x = tf.randomNormal([2, ...g.input], 0, 1, "float32", 5);
    const nhwc = await runOnnx(exportOnnx(g, m), x.dataSync() as Float32Array, x.shape);
    const xt = tf.transpose(x, [0, 3, 1, 2]);
    const s = await openOnnx(exportOnnx(g, m, { inputLayout: "nchw" }), "cpu");
    expect(s.inputShape).toEqual([null, 4, 17, 15]);
    const nchw = await s.run(xt.dataSync() as Float32Array, xt.shape);
    await s.release();
    expect([...nchw.dims]).toEqual([2, 6, 9, 8]);
    const back = tf.transpose(tf.tensor(nchw.data, [2, 6, 9, 8]), [0, 2, 3, 1]).dataSync();
    expect(maxAbsDiff(back, nhwc.data)).toBeLessThan(1e-6);
    m.dispose();
  });

  // Size 75 (37, 35, 18, 9, 5, 3), like 299 (149, 147, 74, 37, 19, 10): stride-2 'same' pools on
  // odd sizes pad evenly, on even ones (18, 74) with TensorFlow's extra pixel bottom/right. Batch
  // norms calibrated on the test batch itself (3x3 is the smallest map: 18 values per channel),
  // so a wrong pad in the middle of the network moves the logits by ~0.2, not by 1e-7.
  for (const parts of [1, 4, "depthwise"]) {
    it(`Xception at parts=${parts}: logits and softmax`, async () => {
      const g = compileSpec(spec("xception.arch"), {
        args: { parts, size: 75, classes: 10, mid: parts === 4 ? "elu" : "none" },
      });
      const d = await compareWithAndWithoutSoftmax(g, 2);
      expect(d.scale).toBeGreaterThan(0.1);
      expect(d.logits, `logits ${d.logits}`).toBeLessThan(1e-4);
      expect(d.softmax, `softmax ${d.softmax}`).toBeLessThan(1e-4);
      // About 40 s on two idle cores; 140 s was seen with the machine shared five ways.
    }, 360_000);
  }

  it("Inception V3: logits and softmax", async () => {
    const g = compileSpec(spec("inception_v3.arch"), { args: { size: 75, classes: 10 } });
    const d = await compareWithAndWithoutSoftmax(g);
    expect(d.logits, `logits ${d.logits}`).toBeLessThan(1e-4);
    expect(d.softmax, `softmax ${d.softmax}`).toBeLessThan(1e-4);
    // Calibrated (16 inputs: its last blocks are 1x1 at size 75), activations stay at unit scale
    // through 94 convolutions in sequence, and float32 rounding in two different summation orders
    // (XNNPACK in tfjs' wasm, MLAS in onnxruntime) accumulates to ~1e-4 of the logits' scale,
    // growing smoothly layer by layer; a lowering error shows as a jump far above that.
    const c = await compareWithAndWithoutSoftmax(g, 16);
    expect(c.scale).toBeGreaterThan(0.5);
    expect(c.logits / c.scale, `logits ${c.logits} at scale ${c.scale}`).toBeLessThan(1e-3);
    expect(c.softmax, `softmax ${c.softmax}`).toBeLessThan(1e-3);
  });
});

describe("archc compile --target onnx, archc run --runtime onnx", () => {
  const tiny = join(repo, "examples", "tiny.arch");

  it("writes a model file, and refuses to write one to the terminal", async () => {
    const out = join(tempDir("archc-onnx-"), "tiny.onnx");
    const r = await runCli("compile", tiny, "--target", "onnx", "-o", out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/opset 13, input NHWC \[N, 32, 32, 3\].*random weights/);
    expect(decodeModel(readFileSync(out)).graph.name).toBe("tiny");
    const bare = await runCli("compile", tiny, "--target", "onnx");
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/-o model.onnx/);
  });

  it("--seed picks the random weights: the same seed the same model, another seed another", async () => {
    const dir = tempDir("archc-onnx-seed-");
    const write = async (seed: string) => {
      const out = join(dir, `tiny-${seed}.onnx`);
      const r = await runCli("compile", tiny, "--target", "onnx", "--seed", seed, "-o", out);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`random weights \\(seed ${seed}\\)`));
      return readFileSync(out);
    };
    const [a, again, b] = [await write("7"), await write("7"), await write("8")];
    expect(again.equals(a)).toBe(true);
    expect(b.equals(a)).toBe(false);
    // The file holds what exportOnnx makes with that seed: drawn batch norms, not identities.
    expect(a.equals(Buffer.from(exportOnnx(compileSpec(tiny), undefined, { seed: 7 })))).toBe(true);
    const bad = await runCli(
      "compile",
      tiny,
      "--target",
      "onnx",
      "--seed",
      "-1",
      "-o",
      join(dir, "x.onnx"),
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--seed must be an integer of at least 0, not '-1'/);
  });

  it("times the model with the tfjs run's fields", async () => {
    const r = await runCli(
      "run",
      tiny,
      "--runtime",
      "onnx",
      "--runs",
      "2",
      "--batch",
      "2",
      "--json",
    );
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(j).toMatchObject({ backend: "onnxruntime-cpu", batch: 2, params: 5770, runs: 2 });
    for (const k of ["medianMs", "minMs", "maxMs", "imagesPerSec"])
      expect(j[k], k).toBeGreaterThan(0);
    const text = await runCli("run", tiny, "--runtime", "onnx", "--runs", "1");
    expect(text.stdout).toMatch(
      /tiny on onnxruntime-cpu: batch 1, median .* images\/s, 5,770 params/,
    );
  });

  /** The CLI's export of `dir`'s weights against the tfjs model that holds them. */
  async function exportedEqualsModel(m: tf.LayersModel, dir: string) {
    const out = join(dir, "model.onnx");
    const r = await runCli("compile", tiny, "--target", "onnx", "--weights", dir, "-o", out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`weights from ${dir}`);
    const g = compileSpec(tiny);
    const x = tf.randomNormal([2, ...g.input], 0, 1, "float32", 3);
    const want = (m.predict(x) as tf.Tensor).dataSync();
    const got = await runOnnx(readFileSync(out), x.dataSync() as Float32Array, x.shape, "cpu");
    return maxAbsDiff(want, got.data);
  }

  it("--weights takes a tfjs model folder (model.json + weights.bin)", async () => {
    const m = buildModelFromIR(compileSpec(tiny), plan);
    randomizeNonKernels(m);
    const dir = tempDir("archc-onnx-tfjs-");
    await saveTfjsModel(m, dir);
    expect(existsSync(join(dir, "weights.bin"))).toBe(true);
    expect(await exportedEqualsModel(m, dir)).toBeLessThan(1e-5);
    m.dispose();
  });

  it("--weights takes an archc train run folder, whatever its optimizer's state", async () => {
    const g = compileSpec(tiny);
    const m = buildModelFromIR(g, plan);
    randomizeNonKernels(m);
    // One Adam step: the checkpoint then holds Adam's moments next to the model's weights.
    const adam = tf.train.adam(0.01);
    const x = tf.randomNormal([4, ...g.input], 0, 1, "float32", 1);
    adam.minimize(() => tf.mean(tf.square(m.predict(x) as tf.Tensor)));
    const dir = tempDir("archc-onnx-ckpt-");
    await saveCheckpoint(join(dir, "checkpoint.bin"), m, adam, {
      epoch: 1,
      batch: 0,
      step: 1,
      samples: 4,
      rng: [1],
      network: g.network,
      params: m.countParams(),
    });
    expect(await exportedEqualsModel(m, dir)).toBeLessThan(1e-5);
    m.dispose();
  });

  it("says what a --weights folder lacks", async () => {
    const dir = tempDir("archc-onnx-empty-");
    const out = join(dir, "x.onnx");
    const r = await runCli("compile", tiny, "--target", "onnx", "--weights", dir, "-o", out);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /holds no weights archc knows: neither a run \(manifest.json, checkpoint.bin\), a tfjs model \(model.json\) nor weights.safetensors/,
    );
  });
});
