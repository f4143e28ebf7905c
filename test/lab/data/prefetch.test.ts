import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { packShards } from "../../../compiler/lab/data/pack.js";
import type { Worker } from "node:worker_threads";
import { DecodePool } from "../../../compiler/lab/data/pool.js";
import { locateSplit, imageExtCodes } from "../../../compiler/lab/data/locate.js";
import { readShardIndex } from "../../../compiler/lab/data/shardIndex.js";
import { openShardDataset, type ShardDataset } from "../../../compiler/lab/data/shardDataset.js";
import { imageFolderSource } from "../../../compiler/lab/data/sources.js";
import { openDataset, type EpochOptions } from "../../../compiler/lab/train/data/index.js";
import { tempRoot } from "../../tempRoot.js";
import { writeImageFolder } from "../../imageFolder.js";

/**
 * The training step must not wait on data (issue 24.5). Without timing anything: the decoding
 * threads start when the data is warmed, before any batch is asked for; the next epoch's first
 * batches are asked for while an epoch ends, and are exactly the ones that epoch delivers (the
 * resumable order is untouched); batch memory is reused, never while a tensor still reads it.
 */
const root = tempRoot("prefetch");

const imageFolder = (dir: string) =>
  writeImageFolder(dir, {
    classes: 3,
    perClass: 8,
    size: () => [8, 8],
    pixel: (j, i, cls) => (j * 41 + i * 97 + cls * 59) % 256,
    jpeg: (i) => i % 2 === 1,
  });

let images: string;
let pack: string;
beforeAll(async () => {
  await initBackend("wasm");
  images = await imageFolder(join(root, "images"));
  pack = join(root, "pack");
  await packShards(await imageFolderSource(images), "x", pack, { shardBytes: 4096, seed: 3 });
});

/** Every batch of an epoch, its pixels and sample numbers, each tensor freed once read. */
async function epoch(data: { batches: ShardDataset["batches"] }, batch: number, e: EpochOptions) {
  const out: { x: number[]; samples: number[] }[] = [];
  for await (const b of data.batches(batch, e)) {
    out.push({ x: Array.from(await b.x.data()), samples: [...b.samples!] });
    tf.dispose([b.x, b.y]);
  }
  return out;
}

const open = (threads: number) =>
  openShardDataset(pack, { shape: [8, 8, 3], split: "train", valSplit: 0, threads });

describe("the loader keeps the step fed", () => {
  it("starts its decoding threads when warmed, before the first batch is asked for", async () => {
    // A thread count no other test uses: the pool of that count is this test's alone.
    const data = open(5);
    const pool = data.decoding.pool;
    expect(pool.started).toBe(0);
    data.warm!();
    expect(pool.started).toBe(5);
    expect(pool.requested).toBe(0);
    // Image folders decode on the same threads, started the same way.
    const folder = await openDataset(images, { shape: [8, 8, 3], split: "train", workers: 5 });
    folder.warm!();
    expect(pool.started).toBe(5);
    await epoch(folder, 8, { seed: 1, epoch: 0, shuffle: true });
    expect(pool.requested).toBeGreaterThan(0);
    await pool.close();
  });

  it("asks for the next epoch's first batches as an epoch ends, and delivers exactly them", async () => {
    const data = open(2);
    const { pool, loader } = data.decoding;
    const fresh = open(2);
    const e = (n: number, more: Partial<EpochOptions> = {}) => ({
      seed: 4,
      epoch: n,
      shuffle: true,
      ...more,
    });
    // 24 samples in batches of 5: 5 batches an epoch, 3 decoded ahead.
    const before = pool.requested;
    const first: number[][] = [];
    for await (const b of data.batches(5, e(0))) {
      first.push([...b.samples!]);
      tf.dispose([b.x, b.y]);
      if (first.length === 5) {
        // The last batch of epoch 0 is delivered: epoch 1's first 3 are already asked for.
        expect(loader.aheadCount).toBe(3);
        expect(pool.requested - before).toBe(5 + 3);
      }
    }
    const second = await epoch(data, 5, e(1));
    // Epoch 1 asked only for its last 2 batches, and epoch 2's first 3.
    expect(pool.requested - before).toBe(5 + 5 + 3);
    expect(second).toEqual(await epoch(fresh, 5, e(1)));
    // A resumed epoch starts where it is told, not at the batches decoded ahead for it.
    expect(await epoch(data, 5, e(2, { from: 2 }))).toEqual((await epoch(fresh, 5, e(2))).slice(2));
    // Another seed or batch size is decoded anew, in its own order.
    expect(await epoch(data, 4, e(3))).toEqual(await epoch(fresh, 4, e(3)));
    expect(await epoch(data, 5, e(1, { seed: 5 }))).toEqual(
      await epoch(fresh, 5, e(1, { seed: 5 })),
    );
    // The run's last epoch decodes nothing for an epoch after it.
    const atEnd = pool.requested;
    await epoch(data, 6, e(7, { final: true }));
    expect(pool.requested - atEnd).toBe(4);
  }, 60_000);

  it("reuses batch memory, never while a tensor over it lives (CPU backend)", async () => {
    await tf.setBackend("cpu");
    try {
      const data = open(2);
      const reference = await epoch(open(2), 3, { seed: 6, epoch: 0, shuffle: true });
      let kept: tf.Tensor | undefined;
      let kept2: tf.Tensor | undefined;
      for await (const b of data.batches(3, { seed: 6, epoch: 0, shuffle: true })) {
        if (!kept) {
          // The CPU backend keeps the array it is given, and a reshape shares it.
          kept = b.x;
          kept2 = b.x.reshape([-1]);
          b.x.dispose();
          tf.dispose(b.y);
        } else tf.dispose([b.x, b.y]);
      }
      expect(Array.from(await kept2!.data())).toEqual(reference[0]!.x);
      kept2!.dispose();
      expect(kept!.isDisposed).toBe(true);
      // Three epochs of 8 batches, each freed once read: a handful of buffers, not 24.
      const made = data.decoding.slots.count;
      for (let n = 1; n <= 3; n++) await epoch(data, 3, { seed: 6, epoch: n, shuffle: true });
      expect(data.decoding.slots.count).toBeLessThanOrEqual(Math.max(made, 8));
      expect(data.decoding.slots.count).toBeLessThan(3 * 8);
    } finally {
      await tf.setBackend("wasm");
    }
  }, 60_000);

  it("a decoding thread that dies fails the batches in flight; the next starts a new thread", async () => {
    const pool = new DecodePool(1);
    try {
      const t = locateSplit(pack, readShardIndex(pack), "train");
      const one = (i: number) => ({
        path: t.files[t.shard[i]!]!,
        at: { offset: t.offset[i]!, size: t.size[i]!, ext: imageExtCodes[t.ext[i]!]! },
        sample: i,
      });
      const px = 8 * 8 * 3;
      // Many samples, so that the thread is still at them when it dies.
      const many = Array.from({ length: 2000 }, (_, k) => one(k % t.count));
      const out = new SharedArrayBuffer(many.length * px * 4);
      const pending = pool.decodeBatch({ samples: many, shape: [8, 8, 3], out });
      // A message the thread cannot read: it throws, uncaught, and the thread ends.
      (pool as unknown as { workers: Worker[] }).workers[0]!.postMessage(null);
      await expect(pending).rejects.toThrow();
      const small = new SharedArrayBuffer(3 * px * 4);
      const failures = await pool.decodeBatch({
        samples: [one(0), one(1), one(2)],
        shape: [8, 8, 3],
        out: small,
      });
      expect(failures.size).toBe(0);
      expect(pool.started).toBe(1);
      expect(new Float32Array(small).some((v) => v > 0)).toBe(true);
    } finally {
      await pool.close();
    }
  }, 60_000);
});
