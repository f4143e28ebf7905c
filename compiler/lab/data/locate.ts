import { closeSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { ShardError, type ShardIndex } from "./shardIndex.js";
import type { ImageExt } from "./sources.js";

/** Image formats by code, as a sample table stores them (one byte a sample). */
export const imageExtCodes: readonly ImageExt[] = ["jpg", "png", "pgm", "ppm"];

/**
 * Where every sample of a split lies in its shards: shard, byte offset and length of the encoded
 * image, its format and label. A few bytes a sample in typed arrays (about 20 MB for ImageNet's
 * 1.28 M), so a sample is read by one seek, in any order, without holding any image: what a
 * seeded global order (exact resume, any number of ranks) needs from tar files.
 */
export interface SampleTable {
  readonly count: number;
  /** Shard files, by the index in `shard`. */
  readonly files: readonly string[];
  readonly shard: Uint32Array;
  readonly offset: Float64Array;
  readonly size: Uint32Array;
  /** An index into imageExtCodes. */
  readonly ext: Uint8Array;
  readonly label: Int32Array;
}

const block = 512;

/** A NUL-terminated field of a tar header. */
function field(h: Buffer, at: number, len: number): string {
  const end = h.indexOf(0, at);
  return h.toString("latin1", at, end < 0 || end > at + len ? at + len : end);
}

/**
 * The members of one tar file from its headers alone, seeking past the data: tar-stream (which
 * packs and verifies) can only stream every byte, and an offset table must not read the images.
 */
function* members(path: string): Generator<{ name: string; offset: number; size: number }> {
  const fd = openSync(path, "r");
  try {
    const h = Buffer.alloc(block);
    let at = 0;
    for (;;) {
      const n = readSync(fd, h, 0, block, at);
      if (n === 0 || h.every((b) => b === 0)) return;
      if (n < block) throw new ShardError(path, `ends inside a tar header at byte ${at}`);
      const sizeText = field(h, 124, 12).trim();
      const size = /^[0-7]+$/.test(sizeText) ? parseInt(sizeText, 8) : NaN;
      if (!Number.isFinite(size))
        throw new ShardError(path, `has a damaged tar header at byte ${at} (size '${sizeText}')`);
      const prefix = field(h, 345, 155);
      const name = (prefix ? `${prefix}/` : "") + field(h, 0, 100);
      const type = String.fromCharCode(h[156]!);
      if (type === "0" || type === "\0") yield { name, offset: at + block, size };
      at += block + Math.ceil(size / block) * block;
    }
  } finally {
    closeSync(fd);
  }
}

/** Reads `size` bytes at `offset` of a file (one seek). */
export function readAt(path: string, offset: number, size: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const b = Buffer.alloc(size);
    const n = readSync(fd, b, 0, size, offset);
    if (n !== size) throw new ShardError(path, `ends before byte ${offset + size}: cut short`);
    return b;
  } finally {
    closeSync(fd);
  }
}

/** The sample table of one split, every key's image and label checked, a damaged shard named. */
export function locateSplit(dir: string, index: ShardIndex, split: string): SampleTable {
  const entry = index.splits[split];
  if (!entry)
    throw new ShardError(
      dir,
      `has no split '${split}' (it has ${Object.keys(index.splits).join(", ")})`,
    );
  const n = entry.count;
  const t = {
    count: n,
    files: entry.shards.map((s) => join(dir, s.file)),
    shard: new Uint32Array(n),
    offset: new Float64Array(n),
    size: new Uint32Array(n),
    ext: new Uint8Array(n),
    label: new Int32Array(n),
  };
  const classes = index.classes.length;
  let i = 0;
  entry.shards.forEach((s, si) => {
    const path = t.files[si]!;
    let key: string | undefined;
    let hasImage = false;
    let hasLabel = false;
    const close = () => {
      if (key === undefined) return;
      if (!hasImage || !hasLabel)
        throw new ShardError(path, `sample ${key} has no ${hasImage ? ".cls label" : "image"}`);
      i++;
    };
    const first = i;
    for (const m of members(path)) {
      const dot = m.name.indexOf(".");
      const k = dot < 0 ? m.name : m.name.slice(0, dot);
      const ext = dot < 0 ? "" : m.name.slice(dot + 1);
      if (k !== key) {
        close();
        if (i >= n) throw new ShardError(path, `holds more samples than the index's ${n}`);
        key = k;
        hasImage = hasLabel = false;
      }
      if (ext === "cls") {
        const text = readAt(path, m.offset, m.size).toString("utf8").trim();
        const l = /^\d+$/.test(text) ? Number(text) : NaN;
        if (!(l >= 0 && l < classes))
          throw new ShardError(
            path,
            `sample ${k}'s label '${text}' is not one of the ${classes} classes`,
          );
        t.label[i] = l;
        hasLabel = true;
      } else {
        const code = imageExtCodes.indexOf(ext as ImageExt);
        if (code < 0)
          throw new ShardError(path, `member '${m.name}' is neither an image nor a .cls label`);
        t.shard[i] = si;
        t.offset[i] = m.offset;
        t.size[i] = m.size;
        t.ext[i] = code;
        hasImage = true;
      }
    }
    close();
    if (i - first !== s.count)
      throw new ShardError(path, `holds ${i - first} samples; the index recorded ${s.count}`);
  });
  return t;
}
