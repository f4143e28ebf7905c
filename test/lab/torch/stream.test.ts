import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idxBytes } from "../../idx.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { packShards } from "../../../compiler/lab/data/pack.js";
import { idxSource } from "../../../compiler/lab/data/sources.js";
import { samplesLogFile, trainTorch } from "../../../compiler/lab/torch/engine.js";
import { epochOrder } from "../../../compiler/lab/train/data/random.js";
import { holdOut } from "../../../compiler/lab/train/data/split.js";
import { fallbackTrainConfig } from "../../../compiler/language/config/train.js";
import { mustBuild } from "../../helpers.js";
import { inCI, needPython, python, pythonProblem } from "../../backends/torch/python.js";

/**
 * The torch engine streams a pack from its tar shards (issue 24.2) and resumes exactly on any
 * number of processes (24.4): an epoch started on 2 processes, stopped inside it and finished on
 * 1, reads every sample once, each step the very samples of the uninterrupted order.
 */
const problem = pythonProblem("torch, numpy");

const root = mkdtempSync(join(tmpdir(), "archc-torch-stream-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const graph = mustBuild(`network small(classes = 4) {
  input 8x8x1
  conv 3x3/2 8 -> bn -> relu
  gap
  dense classes softmax
}
`);
const config = { ...fallbackTrainConfig, batch: 12, epochs: 1 } as const;
const seed = 7;
// 111 kept for training (odd): the last global batch is short.
const n = 123;

/** An IDX folder of n 8x8 images (each pixel its index's low byte) and labels i % 4. */
function idxFolder(dir: string): string {
  mkdirSync(dir);
  const write = (file: string, dims: number[], data: Uint8Array) => {
    writeFileSync(join(dir, file), idxBytes(dims, data));
  };
  write(
    "train-images-idx3-ubyte",
    [n, 8, 8],
    new Uint8Array(n * 64).map((_, j) => j >> 6),
  );
  write(
    "train-labels-idx1-ubyte",
    [n],
    new Uint8Array(n).map((_, i) => i % 4),
  );
  return dir;
}

/** Child processes of this one, and theirs (the runners of this test, never another's). */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      parent.set(Number(p), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  const out: number[] = [];
  const walk = (q: number) => {
    for (const [c, pp] of parent) if (pp === q) (out.push(c), walk(c));
  };
  walk(pid);
  return out;
}

interface Logged {
  epoch: number;
  step: number;
  rank: number;
  samples: number[];
}

describe.skipIf(problem !== undefined && !inCI)("the torch engine streams packs", () => {
  let pack: string;
  beforeAll(async () => {
    needPython(problem);
    await initBackend("wasm");
    pack = join(root, "pack");
    // Small shards: an epoch's order jumps between them.
    await packShards(await idxSource(idxFolder(join(root, "idx"))), "idx", pack, {
      shardBytes: 8 * 1024,
      seed: 1,
    });
  });

  it("killed inside an epoch on 2 processes, resumed on 1: every sample once, in the uninterrupted order", async () => {
    const out = join(root, "run");
    const base = { graph, config, data: pack, outDir: out, python, threads: 1, seed } as const;
    let asked = false;
    const stopped = await trainTorch({
      ...base,
      nproc: 2,
      workers: 1,
      samplesLog: true,
      onStep: (r) => {
        if (asked || r.batch < 2) return;
        // Paused while the stop is asked, so that it lands inside the epoch however far ahead
        // of archc the runners are.
        const runners = descendants(process.pid);
        for (const p of runners) process.kill(p, "SIGSTOP");
        asked = true;
        setTimeout(() => runners.forEach((p) => process.kill(p, "SIGCONT")), 300);
      },
      shouldStop: () => asked,
    });
    expect(stopped.interrupted).toBe(true);
    const done = stopped.stoppedAt!.batch;
    expect(done).toBeGreaterThanOrEqual(2);
    expect(done).toBeLessThan(10);
    await trainTorch({ ...base, nproc: 1, workers: 2, samplesLog: true, resume: true });

    const log = readFileSync(join(out, samplesLogFile), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Logged);
    // The uninterrupted order: train is the pack less a seeded tenth held out (the keys are the
    // positions in the pack's split), each global batch 12 positions of the epoch's permutation.
    const kept = holdOut(n, 0.1, seed).kept;
    const order = epochOrder(kept.length, seed, 0, true).map((p) => kept[p]!);
    const steps = Math.ceil(kept.length / 12);
    expect(new Set(log.map((l) => l.step))).toEqual(
      new Set(Array.from({ length: steps }, (_, s) => s + 1)),
    );
    for (let s = 1; s <= steps; s++) {
      const lines = log.filter((l) => l.step === s);
      expect(lines.map((l) => l.rank).sort()).toEqual(s <= done ? [0, 1] : [0]);
      const read = lines.flatMap((l) => l.samples).sort((a, b) => a - b);
      expect(read).toEqual(order.slice((s - 1) * 12, s * 12).sort((a, b) => a - b));
    }
    const all = log.flatMap((l) => l.samples).sort((a, b) => a - b);
    expect(all).toEqual([...kept].sort((a, b) => a - b));
  }, 600_000);
});
