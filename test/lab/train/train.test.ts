import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import type { TrainConfig } from "../../../compiler/language/config/train.js";
import { checkpointFile } from "../../../compiler/lab/train/checkpoint.js";
import { readFramed } from "../../../compiler/lab/run/frame.js";
import { learningRate } from "../../../compiler/lab/train/schedule.js";
import { trainNetwork } from "../../../compiler/lab/train/session.js";
import { mustBuild, runCli } from "../../helpers.js";

const repo = join(import.meta.dirname, "..", "..", "..");

const spec =
  "network small(classes = 4) {\n  input 12x12x3\n  conv 3x3 8 parts=1 -> bn -> relu\n  sepconv 3x3 16 parts=2 mid=relu -> bn -> relu\n  gap -> dropout 0.25 -> dense classes softmax\n}\n";

const config: TrainConfig = {
  name: "t",
  optimizer: { kind: "sgd", lr: 0.1, momentum: 0.9, nesterov: false },
  schedule: { kind: "exponential", rate: 0.5, every: { amount: 1, unit: "epochs" } },
  weightDecay: 1e-4,
  batch: 16,
  epochs: 2,
  labelSmoothing: 0,
};

beforeAll(async () => {
  process.env["ARCHC_CACHE_DIR"] = join(repo, "test", ".generated", "cache");
  // A fixed strategy: timing-based choices could differ between the runs compared below.
  process.env["ARCHC_GROUPED_STRATEGY"] = "split";
  await initBackend("wasm");
});

function lastWeights(dir: string): Float32Array {
  const { payload } = readFramed(join(dir, checkpointFile));
  return new Float32Array(
    payload.buffer.slice(payload.byteOffset, payload.byteOffset + payload.length),
  );
}

describe("training on the wasm backend", () => {
  it("a few epochs on synthetic data lower the loss", async () => {
    const out = mkdtempSync(join(tmpdir(), "archc-train-"));
    const r = await trainNetwork({
      graph: mustBuild(spec),
      config,
      data: "synthetic:128",
      epochs: 4,
      outDir: out,
      seed: 3,
    });
    expect(r.history).toHaveLength(4);
    expect(r.history[3]!.loss).toBeLessThan(r.history[0]!.loss * 0.8);
    const lines = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n");
    expect(lines).toHaveLength(4);
    expect(JSON.parse(lines[1]!)).toMatchObject({ epoch: 2, lr: 0.05 });
  });

  it("gradient checkpointing, used where memory is short, trains to the same weights", async () => {
    const graph = mustBuild(spec);
    const plain = mkdtempSync(join(tmpdir(), "archc-train-"));
    let told = 0;
    const base = { graph, config, data: "synthetic:48", epochs: 1, seed: 5 };
    await trainNetwork({ ...base, outDir: plain, onCheckpointing: () => told++ });
    expect(told).toBe(0);
    const recomputed = mkdtempSync(join(tmpdir(), "archc-train-"));
    await trainNetwork({
      ...base,
      outDir: recomputed,
      memoryBudget: 1,
      onCheckpointing: () => told++,
    });
    expect(told).toBe(1);
    const a = lastWeights(plain);
    const b = lastWeights(recomputed);
    expect(b.length).toBe(a.length);
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    expect(diff).toBeLessThan(1e-4);
  });

  it("stopping and resuming gives the same weights as an uninterrupted run", async () => {
    const graph = mustBuild(spec);
    const straight = mkdtempSync(join(tmpdir(), "archc-train-"));
    await trainNetwork({
      graph,
      config,
      data: "synthetic:96",
      epochs: 2,
      outDir: straight,
      seed: 7,
    });
    // Stop mid-epoch, as Ctrl-C does, then go on from the checkpoint.
    const split = mkdtempSync(join(tmpdir(), "archc-train-"));
    let steps = 0;
    const first = await trainNetwork({
      graph,
      config,
      data: "synthetic:96",
      epochs: 2,
      outDir: split,
      seed: 7,
      shouldStop: () => ++steps === 4,
    });
    expect(first.interrupted).toBe(true);
    expect(existsSync(join(split, checkpointFile))).toBe(true);
    const second = await trainNetwork({
      graph,
      config,
      data: "synthetic:96",
      epochs: 2,
      outDir: split,
      seed: 7,
      resume: true,
    });
    expect(second.interrupted).toBe(false);
    expect(second.startEpoch).toBe(0);
    const a = lastWeights(straight);
    const b = lastWeights(split);
    expect(b.length).toBe(a.length);
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    expect(diff).toBeLessThan(1e-6);
  });

  it("exponential decay every N epochs or samples, as the paper's schedules", () => {
    const s = {
      kind: "exponential" as const,
      rate: 0.94,
      every: { amount: 2, unit: "epochs" as const },
    };
    expect(learningRate(0.045, s, { epochs: 1, samples: 0, steps: 0 })).toBeCloseTo(0.045);
    expect(learningRate(0.045, s, { epochs: 5, samples: 0, steps: 0 })).toBeCloseTo(
      0.045 * 0.94 ** 2,
    );
    const j = {
      kind: "exponential" as const,
      rate: 0.9,
      every: { amount: 3_000_000, unit: "samples" as const },
    };
    expect(learningRate(0.001, j, { epochs: 0, samples: 6_500_000, steps: 0 })).toBeCloseTo(
      0.001 * 0.81,
    );
  });

  it("archc train runs from the command line and reports the backend", async () => {
    const out = mkdtempSync(join(tmpdir(), "archc-train-"));
    const r = await runCli(
      "train",
      join(repo, "examples", "tiny.arch"),
      "--data",
      "synthetic:64",
      "--epochs",
      "1",
      "--batch",
      "16",
      "--out",
      out,
      "--backend",
      "wasm",
      "--json",
    );
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout) as { backend: string; params: number; loss: number };
    expect(res.backend).toBe("wasm");
    expect(res.params).toBe(5770);
    expect(res.loss).toBeGreaterThan(0);
  });

  it("bad data and bad flags are clear errors, not stack traces", async () => {
    const tiny = join(repo, "examples", "tiny.arch");
    const missing = await runCli("train", tiny, "--data", "/nonexistent/folder", "--epochs", "1");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/\/nonexistent\/folder: no such/);
    expect((await runCli("train", tiny, "--epochs", "0")).code).toBe(2);
    const noData = await runCli("train", tiny, "--epochs", "1");
    expect(noData.stderr).toMatch(/no data for tiny: pass --data/);
    expect(tf.memory().numTensors).toBeLessThan(1000);
  });
});
