/**
 * onnxruntime-node against tfjs' wasm backend and PyTorch (`npx tsx bench/onnx.ts`, or
 * `npm run bench -- onnx`): Xception forward at 299x299, batch 1 and 8, and the continuum layer
 * (3x3 conv 728->728 at 19x19, batch 8) at every partition count from regular to depthwise.
 * PyTorch's side (bench/onnx_torch.py) needs Debian's python3-torch; without it those columns
 * are left out. Markdown tables on stdout; a few minutes on two cores.
 */
import * as tf from "@tensorflow/tfjs";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as ort from "onnxruntime-node";
import { exportOnnx } from "../compiler/backends/onnx/export.js";
import { median, timeOnnx, type OnnxRunOptions } from "../compiler/backends/onnx/runtime.js";
import { buildModelFromIR } from "../compiler/backends/tfjs/model.js";
import { initBackend } from "../compiler/backends/tfjs/runtime.js";
import { compileSpec } from "../compiler/index.js";
import { packageRoot } from "../compiler/language/paths.js";
import { mustBuildGraph } from "./graphs.js";

const groupsSweep = [1, 2, 4, 7, 8, 14, 28, 56, 91, 182, 364, 728];
const python = "/usr/bin/python3";

interface TorchResult {
  torch: string;
  threads: number;
  xception: Record<string, number>;
  continuum: Record<string, number>;
}

/** PyTorch's timings and its ONNX exports (in `dir`), or why there are none. */
function runTorch(dir: string, threads: number): TorchResult | string {
  if (!existsSync(python)) return `${python} is missing`;
  const r = spawnSync(
    python,
    [join(packageRoot, "bench", "onnx_torch.py"), dir, String(threads), groupsSweep.join(",")],
    { encoding: "utf8", maxBuffer: 1 << 20 },
  );
  if (r.status !== 0)
    return `${python} bench/onnx_torch.py failed: ${(r.stderr || String(r.error)).trim().split("\n").pop()}`;
  return JSON.parse(r.stdout) as TorchResult;
}

/** Median ms of tfjs predict on the active backend, with one untimed warm-up. */
async function timeTfjs(m: tf.LayersModel, shape: number[], runs: number): Promise<number> {
  const x = tf.randomNormal(shape);
  const once = async () => {
    const t0 = performance.now();
    const y = m.predict(x) as tf.Tensor;
    await y.data();
    y.dispose();
    return performance.now() - t0;
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  x.dispose();
  return median(times);
}

const ms = (v: number | undefined, digits = 1) => (v === undefined ? "–" : v.toFixed(digits));

export async function runOnnxBench(): Promise<void> {
  const threads = availableParallelism();
  const ortOpts: OnnxRunOptions = { threads };
  const dir = mkdtempSync(join(tmpdir(), "archc-onnx-bench-"));
  try {
    const torch = runTorch(dir, threads);
    await initBackend("wasm");
    const g = compileSpec(join(packageRoot, "specs", "xception.arch"));
    // Random weights: speed does not depend on their values, and no tfjs model is needed.
    const ours = exportOnnx(g, undefined);
    const torchXception = join(dir, "xception_torch.onnx");
    console.log(
      `${cpus()[0]?.model ?? "CPU"}, ${threads} threads; onnxruntime-node ${ort.env.versions.node ?? "?"}; ` +
        (typeof torch === "string" ? `PyTorch side skipped: ${torch}` : `PyTorch ${torch.torch}`),
    );
    console.log(
      "\nXception forward, 299x299, random weights (median ms per batch; lower is better)\n",
    );
    console.log(
      "| batch | onnxruntime, archc export | onnxruntime, torch.onnx export | PyTorch eager | tfjs wasm |",
    );
    console.log("| ---: | ---: | ---: | ---: | ---: |");
    const m = buildModelFromIR(g);
    let provider = "cpu";
    for (const batch of [1, 8]) {
      const runs = batch === 1 ? 7 : 3;
      const a = await timeOnnx(ours, batch, runs, 1, ortOpts);
      provider = a.provider;
      const t =
        typeof torch !== "string" && existsSync(torchXception)
          ? (await timeOnnx(readFileSync(torchXception), batch, runs, 1, ortOpts)).medianMs
          : undefined;
      const p = typeof torch === "string" ? undefined : torch.xception[`b${batch}`];
      const w = await timeTfjs(m, [batch, 299, 299, 3], batch === 1 ? 3 : 1);
      console.log(`| ${batch} | ${ms(a.medianMs)} | ${ms(t)} | ${ms(p)} | ${ms(w)} |`);
    }
    m.dispose();
    console.log(`\n(onnxruntime on ${provider}; PyTorch and onnxruntime with ${threads} threads.)`);

    console.log(
      "\nContinuum layer: 3x3 conv 728->728 over `groups` partitions, 19x19, batch 8, NCHW (median ms)\n",
    );
    console.log(
      "| groups | GMACs | onnxruntime, archc export | onnxruntime, torch.onnx export | PyTorch eager |",
    );
    console.log("| ---: | ---: | ---: | ---: | ---: |");
    for (const groups of groupsSweep) {
      const cg = mustBuildGraph(
        `network c {\n  input 19x19x728\n  conv 3x3 728 parts=${groups} bias=false\n}\n`,
      );
      // NCHW in and out, like the torch.onnx export: for one layer, transposes from and to
      // NHWC would cost as much as the grouped convolutions at the depthwise end.
      const bytes = exportOnnx(cg, undefined, { inputLayout: "nchw" });
      const a = await timeOnnx(bytes, 8, 5, 1, ortOpts);
      const file = join(dir, `continuum_${groups}.onnx`);
      const t =
        typeof torch !== "string" && existsSync(file)
          ? (await timeOnnx(readFileSync(file), 8, 5, 1, ortOpts)).medianMs
          : undefined;
      const p = typeof torch === "string" ? undefined : torch.continuum[String(groups)];
      const gmacs = (8 * cg.totals.macs) / 1e9;
      console.log(
        `| ${groups} | ${gmacs.toFixed(2)} | ${ms(a.medianMs, 2)} | ${ms(t, 2)} | ${ms(p, 2)} |`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// `npx tsx bench/onnx.ts` runs it; bench/run.ts imports it.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  await runOnnxBench();
