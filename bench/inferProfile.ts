/**
 * `npm run bench -- infer-profile`: where one inference pass goes, on both sides of `bench infer`:
 * archc run's inference program on wasm (tf.profile: every kernel call and its time) and
 * onnxruntime-node on the ONNX `archc compile --target onnx` writes (its `enableProfiling`
 * session option: every node's time), for Xception 299x299 at batch 1. The kernels are sorted
 * into the same categories on both sides (pointwise GEMMs, spatial and depthwise convolutions,
 * adds, pooling, activations, layout copies...), with each convolution category's
 * multiply-accumulates and rate, so the table says how much of the ratio is the GEMMs' speed
 * and how much is work one side does that the other does not.
 *
 * ARCHC_PROFILE_PARTS=1|8|depthwise (default depthwise) picks the Xception; ARCHC_PROFILE_PASSES=N
 * the passes profiled per side (default 3: their mean, after two warm-up passes each).
 */
import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportOnnx } from "../compiler/backends/onnx/export.js";
import { buildInferenceFromIR } from "../compiler/backends/tfjs/inference/index.js";
import { initBackend } from "../compiler/backends/tfjs/runtime.js";
import { compileSpec } from "../compiler/index.js";
import { packageRoot } from "../compiler/language/paths.js";

interface Tally {
  ms: number;
  calls: number;
  macs: number;
}

type Tallies = Map<string, Tally>;

/** One kernel call of `passes` profiled passes, counted as its share of one pass. */
function add(t: Tallies, category: string, ms: number, macs: number, passes: number): void {
  const e = t.get(category) ?? { ms: 0, calls: 0, macs: 0 };
  t.set(category, {
    ms: e.ms + ms / passes,
    calls: e.calls + 1 / passes,
    macs: e.macs + macs / passes,
  });
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** A convolution's category and MACs from its output size and kernel taps x input channels per group. */
function convCategory(kh: number, kw: number, depthwise: boolean): string {
  if (depthwise) return "depthwise conv";
  return kh === 1 && kw === 1 ? "pointwise conv (GEMM)" : "spatial conv (GEMM)";
}

/** tfjs kernel names into the categories. */
function tfjsCategory(
  name: string,
  inputs: readonly (readonly number[] | null)[],
  output: readonly number[] | null,
): { category: string; macs: number } {
  const out = output ?? [];
  switch (name) {
    case "Conv2D":
    case "FusedConv2D": {
      const [kh, kw, ci] = inputs[1] ?? [0, 0, 0];
      return { category: convCategory(kh!, kw!, false), macs: size(out) * kh! * kw! * ci! };
    }
    case "DepthwiseConv2dNative":
    case "FusedDepthwiseConv2D": {
      const [kh, kw] = inputs[1] ?? [0, 0];
      return { category: "depthwise conv", macs: size(out) * kh! * kw! };
    }
    case "ArchcGroupedConv2D": {
      const [kh, kw, gi] = inputs[1] ?? [0, 0, 0];
      return { category: "grouped conv", macs: size(out) * kh! * kw! * gi! };
    }
    case "MatMul":
    case "_FusedMatMul":
    case "BatchMatMul":
      return { category: "dense (GEMM)", macs: 0 };
    case "Add":
    case "AddN":
      return { category: "residual add", macs: 0 };
    case "MaxPool":
    case "AvgPool":
    case "Mean":
      return { category: "pooling", macs: 0 };
    case "Relu":
    case "Relu6":
    case "Elu":
    case "Sigmoid":
    case "LeakyRelu":
      return { category: "activation (unfused)", macs: 0 };
    case "FusedBatchNorm":
    case "Mul":
    case "Sub":
      return { category: "batch norm / elementwise", macs: 0 };
    case "Softmax":
      return { category: "softmax", macs: 0 };
    case "PadV2":
    case "Transpose":
    case "Reshape":
    case "Identity":
    case "Slice":
    case "Concat":
    case "Pack":
    case "Unpack":
    case "Tile":
    case "Cast":
      return { category: "layout copies (pad, transpose, reshape)", macs: 0 };
    default:
      return { category: `other (${name})`, macs: 0 };
  }
}

/** onnxruntime node op names into the same categories. */
function ortCategory(
  op: string,
  inputs: readonly Record<string, number[]>[],
  outputs: readonly Record<string, number[]>[],
): { category: string; macs: number } {
  const first = (r: Record<string, number[]> | undefined) => (r ? Object.values(r)[0] : undefined);
  const out = first(outputs[0]) ?? [];
  switch (op) {
    case "Conv":
    case "FusedConv":
    case "NhwcFusedConv": {
      // W is [co, ci/groups, kh, kw] (NCHWc reorders keep the logical shape in the profile).
      const w = first(inputs[1]) ?? [0, 0, 0, 0];
      const [co, gi, kh, kw] = w as [number, number, number, number];
      const ci = (first(inputs[0]) ?? [])[1] ?? gi;
      const depthwise = gi === 1 && ci > 1;
      return {
        category: !depthwise && gi < ci ? "grouped conv" : convCategory(kh, kw, depthwise),
        macs: size(out) * kh * kw * gi,
      };
    }
    case "Gemm":
    case "MatMul":
    case "FusedGemm":
      return { category: "dense (GEMM)", macs: 0 };
    case "Add":
    case "Sum":
      return { category: "residual add", macs: 0 };
    case "MaxPool":
    case "AveragePool":
    case "GlobalAveragePool":
    case "ReduceMean":
      return { category: "pooling", macs: 0 };
    case "Relu":
    case "Clip":
    case "Elu":
    case "Sigmoid":
    case "LeakyRelu":
      return { category: "activation (unfused)", macs: 0 };
    case "BatchNormalization":
    case "Mul":
    case "Sub":
      return { category: "batch norm / elementwise", macs: 0 };
    case "Softmax":
      return { category: "softmax", macs: 0 };
    case "Transpose":
    case "Reshape":
    case "Pad":
    case "ReorderInput":
    case "ReorderOutput":
    case "Flatten":
    case "Identity":
    case "Concat":
    case "Slice":
      return { category: "layout copies (pad, transpose, reshape)", macs: 0 };
    default:
      return { category: `other (${op})`, macs: 0 };
  }
}

interface OrtEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
  args?: {
    op_name?: string;
    input_type_shape?: Record<string, number[]>[];
    output_type_shape?: Record<string, number[]>[];
  };
}

export async function runInferProfileBench(): Promise<void> {
  const parts = process.env["ARCHC_PROFILE_PARTS"] ?? "depthwise";
  const passes = Number(process.env["ARCHC_PROFILE_PASSES"]) || 3;
  const graph = compileSpec(join(packageRoot, "specs", "xception.arch"), {
    args: parts === "depthwise" ? {} : { parts: Number(parts) },
  });
  const backend = await initBackend("wasm");
  const threads = backend.threads ?? 1;
  const ort = await import("onnxruntime-node");
  console.log(
    `Xception 299x299x3 (${parts === "depthwise" ? "depthwise" : `parts = ${parts}`}), batch 1, ` +
      `${(graph.totals.macs / 1e9).toFixed(2)} GMACs; ${backend.label} against onnxruntime-node ` +
      `${ort.env.versions.node ?? "?"} (cpu, ${threads} intra-op threads); mean of ${passes} ` +
      `profiled passes per side, alternating, after two warm-up passes\n`,
  );

  // archc: the program `archc run` runs, every kernel call's time (synchronous on wasm);
  // onnxruntime: its own per-node profile of the same passes. The two alternate pass by pass.
  const { model, program } = buildInferenceFromIR(graph, { batch: 1, mode: "forward" });
  const x = tf.randomUniform([1, ...graph.input], -1, 1);
  const dir = mkdtempSync(join(tmpdir(), "archc-ort-profile-"));
  const ours: Tallies = new Map();
  const theirs: Tallies = new Map();
  let oursWall = 0;
  let theirsWall = 0;
  try {
    const session = await ort.InferenceSession.create(exportOnnx(graph, undefined, { seed: 1 }), {
      graphOptimizationLevel: "all",
      intraOpNumThreads: threads,
      executionProviders: ["cpu"],
      enableProfiling: true,
      profileFilePrefix: join(dir, "ort"),
    });
    const shape = [1, ...graph.input];
    const data = Float32Array.from({ length: size(shape) }, () => Math.random() * 2 - 1);
    const feeds = { [session.inputNames[0]!]: new ort.Tensor("float32", data, shape) };
    for (let i = 0; i < 2; i++) {
      program.predict(x).dispose();
      await session.run(feeds);
    }
    for (let i = 0; i < passes; i++) {
      const t0 = performance.now();
      const info = await tf.profile(() => {
        const y = program.predict(x);
        y.dataSync();
        y.dispose();
      });
      oursWall += performance.now() - t0;
      for (const k of info.kernels) {
        // tf.profile also lists the ops' scopes (`conv2d__op`): their kernels are listed too.
        if (k.name.endsWith("__op")) continue;
        const ms = typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
        const { category, macs } = tfjsCategory(k.name, k.inputShapes, k.outputShapes[0] ?? null);
        add(ours, category, ms, macs, passes);
      }
      const t1 = performance.now();
      await session.run(feeds);
      theirsWall += performance.now() - t1;
    }
    session.endProfiling();
    await session.release();
    const file = readdirSync(dir).find((f) => f.endsWith(".json"));
    if (!file) throw new Error(`onnxruntime wrote no profile in ${dir}`);
    const events = JSON.parse(readFileSync(join(dir, file), "utf8")) as OrtEvent[];
    // The profiled passes are the last `passes` model runs.
    const runs = events.filter((e) => e.cat === "Session" && e.name === "model_run");
    const from = runs[runs.length - passes]?.ts ?? 0;
    for (const e of events) {
      if (e.cat !== "Node" || !e.name.endsWith("_kernel_time") || e.ts < from) continue;
      const { category, macs } = ortCategory(
        e.args?.op_name ?? "?",
        e.args?.input_type_shape ?? [],
        e.args?.output_type_shape ?? [],
      );
      add(theirs, category, e.dur / 1000, macs, passes);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    x.dispose();
    program.dispose();
    model.dispose();
  }

  const categories = [...new Set([...ours.keys(), ...theirs.keys()])].sort(
    (a, b) => (ours.get(b)?.ms ?? 0) - (ours.get(a)?.ms ?? 0),
  );
  const total = (t: Tallies) => [...t.values()].reduce((s, e) => s + e.ms, 0);
  const rate = (e: Tally | undefined) =>
    e && e.macs > 0 && e.ms > 0 ? (e.macs / e.ms / 1e6).toFixed(2) : "-";
  console.log(
    "| category | archc calls | archc ms | archc GMAC/s | onnxruntime calls | onnxruntime ms | onnxruntime GMAC/s | archc - onnxruntime ms |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const c of categories) {
    const a = ours.get(c);
    const o = theirs.get(c);
    console.log(
      `| ${c} | ${(a?.calls ?? 0).toFixed(0)} | ${(a?.ms ?? 0).toFixed(1)} | ${rate(a)} | ${(o?.calls ?? 0).toFixed(0)} | ${(o?.ms ?? 0).toFixed(1)} | ${rate(o)} | ${((a?.ms ?? 0) - (o?.ms ?? 0)).toFixed(1)} |`,
    );
  }
  const [ta, to] = [total(ours), total(theirs)];
  console.log(
    `| all kernels / nodes | | ${ta.toFixed(1)} | | | ${to.toFixed(1)} | | ${(ta - to).toFixed(1)} |`,
  );
  console.log(
    `\nwall-clock per pass (profiling on): archc ${(oursWall / passes).toFixed(1)} ms, onnxruntime ${(theirsWall / passes).toFixed(1)} ms (${(oursWall / theirsWall).toFixed(2)}x)`,
  );
}
