import * as tf from "@tensorflow/tfjs";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadTfjsWeights } from "../../../compiler/backends/onnx/tfjs.js";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { runPaths } from "../../../compiler/lab/run/paths.js";
import { loadCheckpoint } from "../../../compiler/lab/train/checkpoint.js";
import { compileSpec } from "../../../compiler/index.js";
import { runCli } from "../../helpers.js";

const repo = join(import.meta.dirname, "..", "..", "..");
const tiny = join(repo, "examples", "tiny.arch");

beforeAll(async () => {
  process.env["ARCHC_CACHE_DIR"] = join(repo, "test", ".generated", "cache");
  process.env["ARCHC_GROUPED_STRATEGY"] = "split";
  await initBackend("wasm");
});

describe("what Keras fit users expect", () => {
  it("early stopping, best-on-validation weights, and export to tfjs and ONNX", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-export-"));
    const run = join(dir, "run");
    const r = await runCli(
      "train",
      tiny,
      "-s",
      "classes=4",
      "--data",
      "synthetic:48",
      "--epochs",
      "5",
      "--batch",
      "8",
      "--patience",
      "1",
      "--backend",
      "wasm",
      "--out",
      run,
      "--json",
    );
    expect(r.stderr).toBe("");
    const res = JSON.parse(r.stdout) as {
      stoppedEarly: boolean;
      best: { epoch: number; valLoss: number };
    };
    const history = readFileSync(runPaths(run).metrics, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { epoch: number; valLoss: number });
    const best = history.reduce((a, b) => (b.valLoss < a.valLoss ? b : a));
    expect(res.best.epoch).toBe(best.epoch);
    // Patience 1: training goes on exactly while each epoch improves on the best so far.
    const last = history[history.length - 1]!;
    if (res.stoppedEarly) {
      expect(last.epoch).toBe(best.epoch + 1);
      expect(history).not.toHaveLength(5);
    } else expect(history).toHaveLength(5);
    expect(existsSync(runPaths(run).best)).toBe(true);

    // tfjs: the exported folder holds exactly the best checkpoint's weights.
    const folder = join(dir, "model");
    expect((await runCli("export", run, "--best", "-o", folder)).code).toBe(0);
    const graph = compileSpec(tiny, { args: { classes: 4 } });
    const a = buildModelFromIR(graph);
    const b = buildModelFromIR(graph);
    await loadCheckpoint(runPaths(run).best, a);
    loadTfjsWeights(folder, b);
    for (const [i, w] of a.weights.entries())
      expect(Array.from(w.read().dataSync())).toEqual(Array.from(b.weights[i]!.read().dataSync()));
    tf.dispose([a, b] as never);

    // ONNX: the same bytes as `compile --target onnx --weights RUN`.
    const onnx = join(dir, "m.onnx");
    expect((await runCli("export", run, "-o", onnx)).code).toBe(0);
    const viaCompile = join(dir, "c.onnx");
    const c = await runCli(
      "compile",
      tiny,
      "-s",
      "classes=4",
      "--target",
      "onnx",
      "--weights",
      run,
      "-o",
      viaCompile,
    );
    expect(c.code).toBe(0);
    expect(readFileSync(onnx).equals(readFileSync(viaCompile))).toBe(true);
  });

  it("export refuses a folder that is not a run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-export-"));
    const r = await runCli("export", dir, "-o", join(dir, "m.onnx"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/has no manifest.json/);
  });
});
