import { createReadStream } from "node:fs";
import { join } from "node:path";
import { extract as tarExtract } from "tar-stream";
import { ShardError, type ShardIndex } from "./shardIndex.js";
import type { ImageExt } from "./sources.js";

/** A sample read back from a shard. */
export interface ShardSample {
  /** Its key (position in the split at packing). */
  readonly key: string;
  readonly label: number;
  readonly ext: ImageExt;
  readonly bytes: Buffer;
}

const imageExts = new Set<string>(["jpg", "png", "pgm", "ppm"]);

async function* entries(file: string): AsyncGenerator<{ name: string; data: Buffer }> {
  const ex = tarExtract();
  createReadStream(file)
    .on("error", (e) => ex.destroy(e))
    .pipe(ex);
  try {
    for await (const entry of ex) {
      const parts: Buffer[] = [];
      for await (const chunk of entry) parts.push(chunk as Buffer);
      if (entry.header.type === "file")
        yield { name: entry.header.name, data: Buffer.concat(parts) };
    }
  } catch (e) {
    if (e instanceof ShardError) throw e;
    throw new ShardError(file, `is not a readable tar file (${(e as Error).message})`);
  }
}

/**
 * The samples of one shard in their order: each key's image and `.cls` label, checked (a key
 * without both, a label that is not a class, an unknown member) with the shard named.
 */
export async function* readShard(
  dir: string,
  file: string,
  classes: number,
): AsyncGenerator<ShardSample> {
  const path = join(dir, file);
  let key: string | undefined;
  let label: number | undefined;
  let image: { ext: ImageExt; bytes: Buffer } | undefined;
  const flush = (): ShardSample | undefined => {
    if (key === undefined) return undefined;
    if (label === undefined || image === undefined)
      throw new ShardError(path, `sample ${key} has no ${image ? ".cls label" : "image"}`);
    return { key, label, ...image };
  };
  for await (const { name, data } of entries(path)) {
    const dot = name.indexOf(".");
    const [k, ext] = dot < 0 ? [name, ""] : [name.slice(0, dot), name.slice(dot + 1)];
    if (k !== key) {
      const s = flush();
      if (s) yield s;
      key = k;
      label = undefined;
      image = undefined;
    }
    if (ext === "cls") {
      const text = data.toString("utf8").trim();
      const l = /^\d+$/.test(text) ? Number(text) : NaN;
      if (!(l >= 0 && l < classes))
        throw new ShardError(
          path,
          `sample ${k}'s label '${text}' is not one of the ${classes} classes`,
        );
      label = l;
    } else if (imageExts.has(ext)) image = { ext: ext as ImageExt, bytes: data };
    else throw new ShardError(path, `member '${name}' is neither an image nor a .cls label`);
  }
  const last = flush();
  if (last) yield last;
}

/** Every sample of a split, shard after shard, in packed order. */
export async function* readSplit(
  dir: string,
  index: ShardIndex,
  split: string,
): AsyncGenerator<ShardSample> {
  const entry = index.splits[split];
  if (!entry)
    throw new ShardError(
      dir,
      `has no split '${split}' (it has ${Object.keys(index.splits).join(", ")})`,
    );
  for (const s of entry.shards) {
    let n = 0;
    for await (const sample of readShard(dir, s.file, index.classes.length)) {
      n++;
      yield sample;
    }
    if (n !== s.count)
      throw new ShardError(join(dir, s.file), `holds ${n} samples; the index recorded ${s.count}`);
  }
}
