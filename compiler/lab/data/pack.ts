import { createHash } from "node:crypto";
import { once } from "node:events";
import { createWriteStream, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { pack as tarPack } from "tar-stream";
import { atomicWrite, makeFolder } from "../../util/files.js";
import { epochOrder } from "../train/data/random.js";
import {
  indexFile,
  shardFormat,
  shardVersion,
  ShardError,
  type ShardEntry,
  type ShardIndex,
  type SplitEntry,
} from "./shardIndex.js";
import type { EncodedSample, PackSource, SourceSplit } from "./sources.js";

export interface PackOptions {
  /** A shard is closed once it holds this many bytes (WebDataset suggests 100 MB to 1 GB). */
  readonly shardBytes: number;
  /** Samples are shuffled once, at packing, so that every shard mixes the classes. */
  readonly seed: number;
  /** At most this many samples per split (a seeded random subset). */
  readonly limit?: number;
  /** Told after each sample: for a progress bar. */
  readonly progress?: (done: number, total: number) => void;
}

export const defaultShardBytes = 256 * 1024 * 1024;

/** Tar's rounding: a 512-byte header, the data padded to 512. */
const tarBytes = (n: number) => 512 + Math.ceil(n / 512) * 512;

/** A key of nine digits, WebDataset-style: the sample's position in its split. */
const keyOf = (i: number) => String(i).padStart(9, "0");

/**
 * One shard being written: to a hidden temporary name, hashed as it streams, renamed into place
 * only when complete, so an interrupted pack leaves no shard that looks whole (and no index).
 */
class ShardWriter {
  private readonly tar = tarPack();
  private readonly hash = createHash("sha256");
  private readonly out;
  private readonly done: Promise<void>;
  private size = 0;
  count = 0;
  estimate = 1024; // the two zero blocks that end a tar

  constructor(
    private readonly dir: string,
    readonly file: string,
  ) {
    this.out = createWriteStream(join(dir, `.${file}.partial`));
    // One reader of the tar stream that both hashes and writes, with the file's backpressure.
    this.tar.on("data", (data: unknown) => {
      const chunk = data as Buffer;
      this.hash.update(chunk);
      this.size += chunk.length;
      if (!this.out.write(chunk)) {
        this.tar.pause();
        this.out.once("drain", () => this.tar.resume());
      }
    });
    this.tar.on("end", () => this.out.end());
    this.done = once(this.out, "close").then(() => undefined);
  }

  async add(key: string, s: EncodedSample): Promise<void> {
    await this.entry(`${key}.${s.ext}`, s.bytes);
    await this.entry(`${key}.cls`, Buffer.from(String(s.label)));
    this.count++;
  }

  private entry(name: string, data: Uint8Array): Promise<void> {
    this.estimate += tarBytes(data.length);
    // Fixed owner and time: the same input packs to the same bytes, hence the same sha256.
    const header = { name, size: data.length, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 };
    return new Promise((resolve, reject) =>
      this.tar.entry(header, Buffer.from(data.buffer, data.byteOffset, data.byteLength), (e) =>
        e ? reject(e) : resolve(),
      ),
    );
  }

  async close(): Promise<ShardEntry> {
    this.tar.finalize();
    await this.done;
    renameSync(join(this.dir, `.${this.file}.partial`), join(this.dir, this.file));
    return {
      file: this.file,
      count: this.count,
      bytes: this.size,
      sha256: this.hash.digest("hex"),
    };
  }
}

async function packSplit(
  dir: string,
  split: SourceSplit,
  classes: number,
  o: PackOptions,
  tick: () => void,
): Promise<SplitEntry> {
  const order = epochOrder(split.count, o.seed, 0, true);
  const take = o.limit !== undefined ? order.slice(0, o.limit) : order;
  const perClass = new Array<number>(classes).fill(0);
  const shards: ShardEntry[] = [];
  let writer: ShardWriter | undefined;
  for (const [pos, i] of take.entries()) {
    const s = await split.sample(i);
    if (s.label >= classes)
      throw new ShardError(s.origin, `label ${s.label} is beyond the ${classes} classes`);
    const need = tarBytes(s.bytes.length) + 1024;
    if (writer && writer.count > 0 && writer.estimate + need > o.shardBytes) {
      shards.push(await writer.close());
      writer = undefined;
    }
    writer ??= new ShardWriter(dir, `${split.name}-${String(shards.length).padStart(6, "0")}.tar`);
    await writer.add(keyOf(pos), s);
    perClass[s.label]!++;
    tick();
  }
  if (writer) shards.push(await writer.close());
  return { count: take.length, perClass, shards };
}

/**
 * Packs a source into `dir` (which must be new or empty): the shards of each split, then
 * index.json last, written atomically: a folder without an index is an interrupted pack.
 */
export async function packShards(
  source: PackSource,
  sourceName: string,
  dir: string,
  o: PackOptions,
): Promise<ShardIndex> {
  const st = statSync(dir, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) throw new ShardError(dir, "exists and is not a folder");
  if (st && readdirSync(dir).length > 0)
    throw new ShardError(dir, "is not empty; pack into a new or empty folder");
  // One level at a time (files.ts): a recursive mkdir spins forever under /proc.
  makeFolder(dir);
  const total = source.splits.reduce((n, s) => n + Math.min(s.count, o.limit ?? Infinity), 0);
  let done = 0;
  const splits: Record<string, SplitEntry> = {};
  try {
    for (const split of source.splits)
      splits[split.name] = await packSplit(dir, split, source.classes.length, o, () =>
        o.progress?.(++done, total),
      );
  } catch (e) {
    // Leave nothing that looks like a pack: the finished shards are useless without their index.
    for (const f of readdirSync(dir)) if (/\.tar(\.partial)?$/.test(f)) rmSync(join(dir, f));
    throw e;
  }
  const index: ShardIndex = {
    format: shardFormat,
    version: shardVersion,
    source: sourceName,
    classes: source.classes,
    ...(source.shape ? { shape: source.shape } : {}),
    splits,
  };
  atomicWrite(join(dir, indexFile), JSON.stringify(index, null, 2) + "\n");
  return index;
}
