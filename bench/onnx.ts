/**
 * onnxruntime-node against the tfjs wasm path and against PyTorch: Xception forward at batch 1
 * and 8 (299x299), and the continuum layer (3x3 conv 728->728 at 19x19, batch 8) at every
 * partition count. PyTorch's side (bench/onnx_torch.py) needs Debian's python3-torch.
 */
import * as tf from "@tensorflow/tfjs";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportOnnx } from "../compiler/backends/onnx/export.js";
import { openOnnx } from "../compiler/backends/onnx/runtime.js";
import { buildModelFromIR } from "../compiler/backends/tfjs/model.js";
import { initBackend } from "../compiler/backends/tfjs/runtime.js";
import { compileSpec } from "../compiler/index.js";
import { packageRoot } from "../compiler/paths.js";
import { mustBuildGraph } from "./graphs.js";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function timeOrt(bytes: Uint8Array, shape: number[], runs: number): Promise<number> {
  const s = await openOnnx(bytes, "cpu");
  const x = Float32Array.from(
    { length: shape.reduce((a, b) => a * b, 1) },
    () => Math.random() - 0.5,
  );
  await s.run(x, shape);
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await s.run(x, shape);
    ts.push(performance.now() - t0);
  }
  await s.release();
  return median(ts);
}

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
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) ts.push(await once());
  x.dispose();
  return median(ts);
}

export async function runOnnxBench(): Promise<void> {
  await initBackend("wasm");
  const out = mkdtempSync(join(tmpdir(), "archc-onnx-bench-"));
  let torch:
    | {
        xception: Record<string, number>;
        continuum: Record<string, { torch_ms: number }>;
        torch: string;
        threads: number;
      }
    | undefined;
  if (existsSync("/usr/bin/python3")) {
    try {
      torch = JSON.parse(
        execFileSync("/usr/bin/python3", [join(packageRoot, "bench", "onnx_torch.py"), out], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "ignore"],
        }),
      );
    } catch {
      console.log("(PyTorch side skipped: /usr/bin/python3 with torch is not usable here)");
    }
  }
  const g = compileSpec(join(packageRoot, "specs", "xception.arch"));
  const m = buildModelFromIR(g);
  const ours = exportOnnx(g, m);
  console.log(
    `Xception 299x299 forward (median ms)${torch ? `; PyTorch ${torch.torch}, ${torch.threads} threads` : ""}`,
  );
  console.log(
    "| batch | onnxruntime (archc export) | onnxruntime (torch export) | PyTorch | tfjs wasm |",
  );
  console.log("| ---: | ---: | ---: | ---: | ---: |");
  for (const batch of [1, 8]) {
    const runs = batch === 1 ? 7 : 3;
    const a = await timeOrt(ours, [batch, 299, 299, 3], runs);
    const t = torch
      ? await timeOrt(readFileSync(join(out, "xception_torch.onnx")), [batch, 3, 299, 299], runs)
      : undefined;
    const w = await timeTfjs(m, [batch, 299, 299, 3], batch === 1 ? 3 : 1);
    const p = torch?.xception[`torch_b${batch}_ms`];
    console.log(
      `| ${batch} | ${a.toFixed(1)} | ${t?.toFixed(1) ?? "-"} | ${p?.toFixed(1) ?? "-"} | ${w.toFixed(1)} |`,
    );
  }
  m.dispose();
  console.log("\nContinuum layer: 3x3 conv 728->728 at 19x19, batch 8 (median ms)");
  console.log(
    "| groups | MACs (M) | onnxruntime (archc export) | onnxruntime (torch export) | PyTorch |",
  );
  console.log("| ---: | ---: | ---: | ---: | ---: |");
  for (const groups of [1, 2, 4, 7, 8, 14, 28, 56, 91, 182, 364, 728]) {
    const cg = mustBuildGraph(
      `network c {\n  input 19x19x728\n  conv 3x3 728 parts=${groups} bias=false\n}\n`,
    );
    const cm = buildModelFromIR(cg);
    const a = await timeOrt(exportOnnx(cg, cm), [8, 19, 19, 728], 5);
    cm.dispose();
    const t = torch
      ? await timeOrt(
          readFileSync(join(out, `continuum_torch_${groups}.onnx`)),
          [8, 728, 19, 19],
          5,
        )
      : undefined;
    const p = torch?.continuum[String(groups)]?.torch_ms;
    console.log(
      `| ${groups} | ${((19 * 19 * 8 * 9 * 728 * 728) / groups / 1e6).toFixed(0)} | ${a.toFixed(2)} | ${t?.toFixed(2) ?? "-"} | ${p?.toFixed(2) ?? "-"} |`,
    );
  }
}
