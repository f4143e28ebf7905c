import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { trainTorch } from "../../../compiler/lab/torch/engine.js";
import { findPython, PythonError } from "../../../compiler/lab/torch/python.js";
import { fallbackTrainConfig } from "../../../compiler/language/config/train.js";
import { loadProgram } from "../../../compiler/language/program.js";
import { mustBuild, runCli } from "../../helpers.js";
import { inCI, needPython, python, pythonProblem } from "../../backends/torch/python.js";

/**
 * `archc train --engine torch`: the run folder the embedded trainer writes, trained by PyTorch
 * (Debian's python3-torch), resumable after a stop, and under torchrun with two processes the
 * same loss curve as one process at the same global batch.
 */
const problem = pythonProblem("torch, numpy");

// Batch norm after a strided 'same' conv and a grouped separable one: what DDP must synchronise.
const spec = `network small(classes = 4, parts = 2, dropout = 0) {
  input 12x12x3
  conv 3x3/2 8 -> bn -> relu
  sepconv 3x3 16 parts=parts -> bn -> relu
  gap
  if dropout > 0 { dropout dropout }
  dense classes softmax
}
train quick {
  optimizer sgd(momentum = 0.9, lr = 0.05)
  schedule exponential(rate = 0.5, every = 1 epochs)
  weight_decay 1e-4
  batch 16
  epochs 2
}
`;

function tempSpec(): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), "archc-torch-engine-"));
  const file = join(dir, "small.arch");
  writeFileSync(file, spec);
  return { dir, file };
}

interface Metrics {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number;
  lr: number;
}
const metrics = (dir: string): Metrics[] =>
  readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Metrics);

/** The safetensors weights of a run, by name. */
const weights = (dir: string) => weightsOf(join(dir, "weights.safetensors"));

function weightsOf(file: string): Map<string, Float32Array> {
  const b = readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString("utf8")) as Record<
    string,
    { data_offsets: [number, number] }
  >;
  const out = new Map<string, Float32Array>();
  for (const [k, t] of Object.entries(header)) {
    if (k === "__metadata__") continue;
    const raw = b.subarray(8 + n + t.data_offsets[0], 8 + n + t.data_offsets[1]);
    out.set(k, new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length)));
  }
  return out;
}

function maxWeightDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  expect([...a.keys()]).toEqual([...b.keys()]);
  let d = 0;
  for (const [k, x] of a) {
    const y = b.get(k)!;
    for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i]! - y[i]!));
  }
  return d;
}

describe("findPython", () => {
  it("names what to install when the interpreter given cannot import torch", () => {
    expect(() => findPython("/nonexistent/python3")).toThrow(PythonError);
    expect(() => findPython("/nonexistent/python3")).toThrow(
      /--python \/nonexistent\/python3 cannot run the torch engine \(not found\): install PyTorch/,
    );
    expect(() => findPython(undefined, { ARCHC_PYTHON: "/nonexistent/py" })).toThrow(
      /ARCHC_PYTHON \/nonexistent\/py/,
    );
    expect(() => findPython(undefined, { PATH: "/nonexistent" })).toThrow(
      /no Python with PyTorch found .*apt-get install python3-torch.*--python or ARCHC_PYTHON/,
    );
  });

  it.skipIf(problem !== undefined && !inCI)("finds the interpreter that has torch", () => {
    const py = findPython(python);
    expect(py.path).toBe(python);
    expect(py.torch).toMatch(/^\d+\.\d+/);
  });
});

describe.skipIf(problem !== undefined && !inCI)("archc train --engine torch", () => {
  beforeAll(async () => {
    needPython(problem);
    await initBackend("wasm");
  });

  it("writes the embedded trainer's run folder, and starts where it starts", async () => {
    const { dir, file } = tempSpec();
    const out = join(dir, "torch");
    const common = ["train", file, "--data", "synthetic:64", "--quiet"];
    const r = await runCli(...common, "--engine", "torch", "--python", python, "--out", out);
    expect(r.code, r.stderr).toBe(0);
    for (const f of ["manifest.json", "metrics.jsonl", "metrics.csv", "checkpoint.bin", "model.py"])
      expect(existsSync(join(out, f)), f).toBe(true);
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as {
      identity: { engine: string; seed: number };
    };
    expect(manifest.identity.engine).toBe("torch");
    const m = metrics(out);
    expect(m.map((x) => x.epoch)).toEqual([1, 2]);
    // The schedule as the embedded trainer computes it: 0.05, then halved after one epoch.
    expect(m.map((x) => x.lr)).toEqual([0.05, 0.025]);
    expect(m[1]!.loss).toBeLessThan(m[0]!.loss);
    // The same starting weights, data order, optimizer and loss: the first epoch's mean loss
    // agrees with the embedded trainer's to float precision (differences grow step by step).
    const tfjsOut = join(dir, "tfjs");
    const t = await runCli(...common, "--epochs", "1", "--out", tfjsOut);
    expect(t.code, t.stderr).toBe(0);
    expect(Math.abs(metrics(tfjsOut)[0]!.loss - m[0]!.loss)).toBeLessThan(1e-3);
    // compile --weights takes the run's weights as they are, beside the module.
    const c = await runCli(
      "compile",
      file,
      "--target",
      "torch",
      "--weights",
      out,
      "-o",
      join(dir, "m.py"),
    );
    expect(c.code, c.stderr).toBe(0);
    // What is written is what was verified: the run's weights, under the same names.
    expect(maxWeightDiff(weights(out), weightsOf(join(dir, "m.safetensors")))).toBe(0);
    // A used folder is refused without --resume or --fresh, as for the embedded trainer.
    const again = await runCli(...common, "--engine", "torch", "--out", out);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already holds a run/);
  }, 300_000);

  it("stops after a step when asked, and --resume ends where an uninterrupted run ends", async () => {
    const { dir } = tempSpec();
    const graph = mustBuild(spec);
    const base = {
      graph,
      config: { ...fallbackTrainConfig, batch: 16, epochs: 2 },
      // 64 steps: a stop asked for at step 2 reaches the runner long before its last step, even
      // on a loaded machine (with 8 steps the run could finish first).
      data: "synthetic:512",
      python,
    };
    const whole = join(dir, "whole");
    await trainTorch({ ...base, outDir: whole });
    const cut = join(dir, "cut");
    let steps = 0;
    const stopped = await trainTorch({
      ...base,
      outDir: cut,
      onStep: () => steps++,
      shouldStop: () => steps >= 2,
    });
    expect(stopped.interrupted).toBe(true);
    expect(existsSync(join(cut, "checkpoint.bin"))).toBe(true);
    const resumed = await trainTorch({ ...base, outDir: cut, resume: true });
    expect(resumed.interrupted).toBe(false);
    expect(resumed.history.map((h) => h.epoch)).toEqual([1, 2]);
    const [a, b] = [metrics(whole), metrics(cut)];
    for (let i = 0; i < 2; i++) expect(Math.abs(a[i]!.loss - b[i]!.loss)).toBeLessThan(1e-6);
    expect(maxWeightDiff(weights(whole), weights(cut))).toBeLessThan(1e-6);
  }, 300_000);

  it("--nproc 2 (torchrun, DDP on gloo) follows one process's loss curve at the same global batch", async () => {
    const { dir, file } = tempSpec();
    const common = ["train", file, "--data", "synthetic:64", "--engine", "torch", "--quiet"];
    const one = join(dir, "one");
    const two = join(dir, "two");
    const r1 = await runCli(...common, "--out", one, "--threads", "1");
    expect(r1.code, r1.stderr).toBe(0);
    const r2 = await runCli(...common, "--out", two, "--nproc", "2", "--threads", "1");
    expect(r2.code, r2.stderr).toBe(0);
    const [a, b] = [metrics(one), metrics(two)];
    expect(b.map((x) => x.epoch)).toEqual([1, 2]);
    for (let i = 0; i < 2; i++) {
      expect(Math.abs(a[i]!.loss - b[i]!.loss), `epoch ${i + 1} loss`).toBeLessThan(1e-5);
      expect(a[i]!.accuracy).toBe(b[i]!.accuracy);
      expect(Math.abs(a[i]!.valLoss - b[i]!.valLoss), `epoch ${i + 1} val loss`).toBeLessThan(1e-5);
    }
    expect(maxWeightDiff(weights(one), weights(two))).toBeLessThan(1e-5);
    // Two machines of one process each (--nnodes 2, static rendezvous on localhost): the same
    // curve again; node 1 only computes and writes nothing.
    const program = loadProgram(file);
    const nodes = {
      graph: mustBuild(spec),
      config: program.trains.get("quick")!,
      data: "synthetic:64",
      python,
      threads: 1,
      nnodes: 2,
      rdzvEndpoint: `127.0.0.1:${29500 + Math.floor(Math.random() * 2000)}`,
    };
    const [lead, other] = await Promise.all(
      [0, 1].map((nodeRank) =>
        trainTorch({ ...nodes, nodeRank, outDir: join(dir, `node${nodeRank}`) }),
      ),
    );
    expect(other!.history).toEqual([]);
    expect(existsSync(join(dir, "node1"))).toBe(false);
    const c = metrics(join(dir, "node0"));
    for (let i = 0; i < 2; i++) expect(Math.abs(c[i]!.loss - b[i]!.loss)).toBeLessThan(1e-5);
    expect(lead!.history).toHaveLength(2);
    // A global batch that does not split evenly is refused before anything starts.
    const odd = await runCli(...common, "--out", join(dir, "odd"), "--nproc", "3");
    expect(odd.code).toBe(1);
    expect(odd.stderr).toMatch(/the batch \(16\) must be a multiple of the processes \(3\)/);
  }, 300_000);
});
