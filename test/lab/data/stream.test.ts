import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { locateSplit } from "../../../compiler/lab/data/locate.js";
import { packShards } from "../../../compiler/lab/data/pack.js";
import { readShardIndex } from "../../../compiler/lab/data/shardIndex.js";
import { imageFolderSource } from "../../../compiler/lab/data/sources.js";
import type { ShardDataset } from "../../../compiler/lab/data/shardDataset.js";
import { runnerPath } from "../../../compiler/lab/torch/engine.js";
import { DataError, openDataset } from "../../../compiler/lab/train/data/index.js";
import { epochOrder } from "../../../compiler/lab/train/data/random.js";
import { inCI, needPython, python, pythonProblem } from "../../backends/torch/python.js";
import { tempRoot } from "../../tempRoot.js";
import { writeImageFolder } from "../../imageFolder.js";

/**
 * A pack is a data source of the embedded trainer, streamed from its shards with decoding in
 * worker threads (issue 24.2), and both engines decode its samples to the same numbers: the
 * first batch of an epoch is the same in the embedded loader and in the torch runner's.
 */
const problem = pythonProblem("torch, PIL");

const root = tempRoot("stream");

/** An image folder of 3 classes, 8 images each: noisy 8x8 RGB, PNG and JPEG alternately. */
const imageFolder = (dir: string) =>
  writeImageFolder(dir, {
    classes: 3,
    perClass: 8,
    size: () => [8, 8],
    pixel: (j, i, cls) => (j * 37 + i * 101 + cls * 53) % 256,
    jpeg: (i) => i % 2 === 1,
    quality: 90,
  });

/** The tensor's values, as a flat array. */
const values = async (t: tf.Tensor) => Array.from((await t.data()) as Float32Array);

describe("packs streamed by the embedded trainer", () => {
  let pack: string;
  beforeAll(async () => {
    await initBackend("wasm");
    pack = join(root, "pack");
    await packShards(await imageFolderSource(await imageFolder(join(root, "images"))), "x", pack, {
      shardBytes: 4 * 1024,
      seed: 5,
    });
  });

  it("delivers every sample of its split once an epoch, with its label, in the seeded order", async () => {
    const data = (await openDataset(pack, {
      shape: [8, 8, 3],
      split: "train",
      seed: 1,
    })) as ShardDataset;
    expect(data.seeks).toBe(true);
    // No val split in the pack: a seeded tenth of train is held out (round(2.4) = 2).
    expect(data.size).toBe(22);
    const table = locateSplit(pack, readShardIndex(pack), "train");
    expect(table.files.length).toBeGreaterThan(1);
    const labels: number[] = [];
    for await (const b of data.batches(5, { seed: 2, epoch: 0, shuffle: true })) {
      labels.push(...(await values(tf.argMax(b.y, -1))));
      tf.dispose([b.x, b.y]);
    }
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    expect(sorted(labels)).toEqual(sorted(data.shards.indices.map((i) => table.label[i]!)));
  });

  it("starts an epoch at a batch without reading those before it, as the loop resumes", async () => {
    const data = await openDataset(pack, { shape: [8, 8, 1], split: "train", seed: 1 });
    const all: number[][] = [];
    for await (const b of data.batches(4, { seed: 3, epoch: 1, shuffle: true })) {
      all.push(await values(b.x));
      tf.dispose([b.x, b.y]);
    }
    const later: number[][] = [];
    for await (const b of data.batches(4, { seed: 3, epoch: 1, shuffle: true, from: 3 })) {
      later.push(await values(b.x));
      tf.dispose([b.x, b.y]);
    }
    expect(later).toEqual(all.slice(3));
  });

  it("names the shard and the sample of an image that does not decode", async () => {
    const broken = join(root, "broken");
    execFileSync("cp", ["-r", pack, broken]);
    const index = readShardIndex(broken);
    const table = locateSplit(broken, index, "train");
    // Damage every image in place (same size: the index's size check passes, decoding fails).
    const file = table.files[0]!;
    const bytes = readFileSync(file);
    for (let i = 0; i < table.count; i++)
      if (table.shard[i] === 0)
        bytes.fill(0x41, table.offset[i]!, table.offset[i]! + table.size[i]!);
    writeFileSync(file, bytes);
    const data = await openDataset(broken, { shape: [8, 8, 3], split: "train", seed: 1 });
    const run = async () => {
      for await (const b of data.batches(30, { seed: 0, epoch: 0, shuffle: false }))
        tf.dispose([b.x, b.y]);
    };
    await expect(run()).rejects.toThrow(DataError);
    await expect(run()).rejects.toThrow(/train-000000\.tar: sample \d{9} cannot be decoded/);
  });

  it.skipIf(problem !== undefined && !inCI)(
    "gives the torch runner's first batch, within JPEG decoding's rounding",
    async () => {
      needPython(problem, "python3-torch python3-pil");
      for (const c of [3, 1] as const) {
        const data = (await openDataset(pack, {
          shape: [8, 8, c],
          split: "train",
          seed: 1,
        })) as ShardDataset;
        let first: number[] = [];
        for await (const b of data.batches(22, { seed: 9, epoch: 0, shuffle: true })) {
          first = await values(b.x);
          tf.dispose([b.x, b.y]);
          break;
        }
        const indices = join(root, `indices-${c}`);
        writeFileSync(indices, Buffer.from(Uint32Array.from(data.shards.indices).buffer));
        const script = [
          "import json, sys, torch",
          `sys.path.insert(0, ${JSON.stringify(join(runnerPath, ".."))})`,
          "import runner",
          "spec = json.loads(sys.argv[1])",
          "d = runner.ShardData(spec, 2)",
          "order = runner.epoch_order(d.n, 9, 0, True)",
          "(x, y, ids), = d.batches([order], torch.device('cpu'))",
          "sys.stdout.buffer.write(x.permute(0, 2, 3, 1).contiguous().numpy().tobytes())",
        ].join("\n");
        const spec = { dir: pack, split: data.shards.split, indices, shape: [8, 8, c] };
        const out = execFileSync(python, ["-c", script, JSON.stringify(spec)], {
          maxBuffer: 1 << 24,
          // Importing runner.py must not leave a __pycache__ in the package.
          env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
        });
        const theirs = new Float32Array(out.buffer, out.byteOffset, out.byteLength / 4);
        expect(theirs.length).toBe(first.length);
        const table = locateSplit(pack, readShardIndex(pack), "train");
        const order = epochOrder(data.size, 9, 0, true);
        let worst = 0;
        let pngWorst = 0;
        const px = 8 * 8 * c;
        for (let j = 0; j < first.length; j++) {
          const d = Math.abs(first[j]! - theirs[j]!);
          worst = Math.max(worst, d);
          // Which sample this value is of: PNG decodes are lossless, so equal to the bit.
          const sample = data.shards.indices[order[Math.floor(j / px)]!]!;
          if (table.ext[sample] === 1) pngWorst = Math.max(pngWorst, d);
        }
        expect(pngWorst).toBe(0);
        expect(worst).toBeLessThanOrEqual(2 / 255);
      }
    },
    120_000,
  );
});
