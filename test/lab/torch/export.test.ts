import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { loadTfjsWeights } from "../../../compiler/backends/onnx/tfjs.js";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { openRunData } from "../../../compiler/lab/train/data/index.js";
import { mustBuild, runCli } from "../../helpers.js";
import { inCI, needPython, python, pythonProblem } from "../../backends/torch/python.js";

/**
 * A torch-engine run is a run like any other (issue 22.4): its manifest names its spec and its
 * Python and torch, and export (ONNX, tfjs), compile --weights and the ONNX runtime take it,
 * single- and multi-process. Round trip: train with torch, export ONNX, and onnxruntime's
 * accuracy on the validation data is the run's own evaluation.
 */
const problem = pythonProblem("torch, numpy");

const spec = `network small(classes = 4) {
  input 8x8x3
  conv 3x3/2 8 -> bn -> relu
  sepconv 3x3 8 parts=2 -> bn -> relu
  gap
  dense classes softmax
}
train quick {
  optimizer sgd(momentum = 0.9, lr = 0.1)
  batch 16
  epochs 2
}
`;
const data = "synthetic:96";

interface Last {
  valLoss: number;
  valAccuracy: number;
}
const lastMetrics = (dir: string): Last =>
  JSON.parse(readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").pop()!) as Last;

/** onnxruntime's loss and accuracy on the run's validation data, as archc decodes it. */
async function onnxEvaluation(file: string): Promise<Last> {
  const graph = mustBuild(spec);
  const { valData } = await openRunData(data, graph, { seed: 0 });
  const session = await ort.InferenceSession.create(readFileSync(file));
  let [loss, correct, seen] = [0, 0, 0];
  for await (const b of valData!.batches(32, { seed: 0, epoch: 0, shuffle: false })) {
    const x = (await b.x.data()) as Float32Array;
    const y = Array.from((await tf.argMax(b.y, -1).data()) as Int32Array);
    const out = await session.run({
      [session.inputNames[0]!]: new ort.Tensor("float32", Float32Array.from(x), b.x.shape),
    });
    const p = out[session.outputNames[0]!]!.data as Float32Array;
    const classes = p.length / y.length;
    y.forEach((label, i) => {
      const row = Array.from(p.subarray(i * classes, (i + 1) * classes));
      if (row.indexOf(Math.max(...row)) === label) correct++;
      loss -= Math.log(Math.min(Math.max(row[label]!, 1e-7), 1 - 1e-7));
    });
    seen += y.length;
    tf.dispose([b.x, b.y]);
  }
  return { valLoss: loss / seen, valAccuracy: correct / seen };
}

describe.skipIf(problem !== undefined && !inCI)("torch-engine runs are first-class", () => {
  beforeAll(async () => {
    needPython(problem);
    await initBackend("wasm");
  });

  for (const nproc of ["1", "2"]) {
    it(`--nproc ${nproc}: train -> export ONNX -> onnxruntime's accuracy is the run's own`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "archc-torch-export-"));
      const file = join(dir, "small.arch");
      writeFileSync(file, spec);
      const run = join(dir, "run");
      const t = await runCli(
        "train",
        file,
        "--engine",
        "torch",
        "--python",
        python,
        "--data",
        data,
        "--nproc",
        nproc,
        "--threads",
        "1",
        "--out",
        run,
      );
      expect(t.code, t.stderr).toBe(0);
      // It names its Python and torch, never a tfjs backend, and records them.
      expect(t.stderr).toMatch(/^engine: torch \S+, Python \d+\.\d+\.\d+ \(.*\), CPU, \d process/m);
      expect(t.stderr).not.toMatch(/backend: wasm/);
      const manifest = JSON.parse(readFileSync(join(run, "manifest.json"), "utf8")) as {
        source: { file: string };
        runtime: { python: string; torch: string; processes: number };
      };
      expect(manifest.source.file).toBe(file);
      expect(manifest.runtime.torch).toMatch(/^\d+\.\d+/);
      expect(manifest.runtime.processes).toBe(Number(nproc));

      const onnx = join(dir, "run.onnx");
      const e = await runCli("export", run, "-o", onnx);
      expect(e.code, e.stderr).toBe(0);
      expect(e.stderr).toContain(`weights from ${join(run, "checkpoint.bin")}`);
      const own = lastMetrics(run);
      const ours = await onnxEvaluation(onnx);
      expect(ours.valAccuracy).toBe(own.valAccuracy);
      expect(Math.abs(ours.valLoss - own.valLoss)).toBeLessThan(1e-5);
      // archc eval reads it as it reads an embedded run: the held-out split gives the run's own
      // number; the test set, which training never read, is measured and recorded.
      const ev = await runCli("eval", run, "--split", "val", "--json");
      expect(ev.code, ev.stderr).toBe(0);
      expect(JSON.parse(ev.stdout).accuracy).toBe(own.valAccuracy);
      const test = await runCli("eval", run, "--split", "test");
      expect(test.code, test.stderr).toBe(0);
      expect(test.stdout + test.stderr).toMatch(/test accuracy/);
      expect(readFileSync(join(run, "eval.json"), "utf8")).toMatch(/"split": "test"/);
      if (nproc === "2") return;

      // compile --target onnx --weights makes the same model; --best takes best.bin.
      const c = await runCli(
        "compile",
        file,
        "--target",
        "onnx",
        "--weights",
        run,
        "-o",
        join(dir, "c.onnx"),
      );
      expect(c.code, c.stderr).toBe(0);
      expect((await onnxEvaluation(join(dir, "c.onnx"))).valAccuracy).toBe(own.valAccuracy);
      const best = await runCli("export", run, "--best", "-o", join(dir, "best.onnx"));
      expect(best.code, best.stderr).toBe(0);
      expect(best.stderr).toContain("best.bin");

      // The tfjs folder gives the ONNX model's outputs.
      const folder = join(dir, "tfjs");
      const f = await runCli("export", run, "-o", folder);
      expect(f.code, f.stderr).toBe(0);
      const graph = mustBuild(spec);
      const m = buildModelFromIR(graph);
      loadTfjsWeights(folder, m);
      const x = tf.randomUniform([3, 8, 8, 3], 0, 1, "float32", 7);
      const tfjsOut = (await (m.predict(x) as tf.Tensor).data()) as Float32Array;
      const session = await ort.InferenceSession.create(readFileSync(onnx));
      const ortOut = (
        await session.run({
          [session.inputNames[0]!]: new ort.Tensor(
            "float32",
            Float32Array.from(await x.data()),
            [3, 8, 8, 3],
          ),
        })
      )[session.outputNames[0]!]!.data as Float32Array;
      for (let i = 0; i < tfjsOut.length; i++)
        expect(Math.abs(tfjsOut[i]! - ortOut[i]!)).toBeLessThan(1e-5);
      m.dispose();
    }, 300_000);
  }
});
