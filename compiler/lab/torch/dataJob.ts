import { createReadStream, createWriteStream, openSync, readSync, closeSync } from "node:fs";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import type { ShardDataset } from "../data/shardDataset.js";
import type { Dataset } from "../train/data/index.js";
import { TorchEngineError } from "./python.js";

/**
 * What the runner is told of a data set: where each sample is, never its decoded pixels. The
 * runner reads and decodes the samples of each batch in DataLoader workers, with the arithmetic
 * of the embedded trainer's loaders, so nothing the size of the data set in floats is written
 * or held, whatever the source (issue 24).
 */
export type DataJob = { readonly size: number; readonly shape: readonly number[] } & (
  | { readonly shards: { dir: string; split: string; indices: string; shape: readonly number[] } }
  | { readonly files: { paths: string; labels: string; skipCorrupt: boolean } }
  | { readonly idx: { images: string; records: string; labels: string } }
  | {
      readonly synthetic: { means: string; seed: number; stream: number; noise: number };
    }
);

function writeU32(path: string, xs: readonly number[]): string {
  const list = Uint32Array.from(xs);
  writeFileSync(path, Buffer.from(list.buffer, list.byteOffset, list.byteLength));
  return path;
}

function writeI32(path: string, xs: readonly number[]): string {
  const list = Int32Array.from(xs);
  writeFileSync(path, Buffer.from(list.buffer, list.byteOffset, list.byteLength));
  return path;
}

function gzipped(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/**
 * The job's description of a data set, its side files written in `dir`: a pack's selected
 * positions; an image folder's paths (NUL-separated, so the runner holds them as one array of
 * bytes, not a Python string each) and labels; an IDX file's records and labels (a gzipped file
 * is unpacked once into `dir`: bytes, not floats); synthetic data's class means.
 */
export async function dataJob(data: Dataset, dir: string, name: string): Promise<DataJob> {
  const common = { size: data.size, shape: data.shape };
  if ("shards" in data) {
    const d = data as ShardDataset;
    const indices = writeU32(join(dir, `${name}.indices.u32`), d.shards.indices);
    return {
      ...common,
      shards: { dir: resolve(d.shards.dir), split: d.shards.split, indices, shape: d.shape },
    };
  }
  const o = data.origin;
  if (!o)
    throw new TorchEngineError(
      `${data.name}: the torch engine cannot read this data set sample by sample`,
    );
  if (o.kind === "files") {
    const paths = join(dir, `${name}.paths`);
    writeFileSync(paths, o.files.map((f) => `${resolve(f)}\0`).join(""));
    const labels = writeI32(join(dir, `${name}.labels.i32`), o.labels);
    return { ...common, files: { paths, labels, skipCorrupt: o.skipCorrupt } };
  }
  if (o.kind === "idx") {
    let images = resolve(o.images);
    if (gzipped(images)) {
      const unpacked = join(dir, `${name}.idx`);
      await pipeline(createReadStream(images), createGunzip(), createWriteStream(unpacked));
      images = unpacked;
    }
    const records = writeU32(join(dir, `${name}.records.u32`), o.records);
    const labels = writeI32(join(dir, `${name}.labels.i32`), o.labels);
    return { ...common, idx: { images, records, labels } };
  }
  const means = join(dir, `${name}.means.f32`);
  const all = new Float32Array(o.means.reduce((n, m) => n + m.length, 0));
  let at = 0;
  for (const m of o.means) (all.set(m, at), (at += m.length));
  writeFileSync(means, Buffer.from(all.buffer));
  return {
    ...common,
    synthetic: { means, seed: o.seed, stream: o.stream, noise: o.noise },
  };
}
