import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { packShards, defaultShardBytes } from "../../lab/data/pack.js";
import {
  readShardIndex,
  ShardError,
  verifyShards,
  type ShardIndex,
} from "../../lab/data/shardIndex.js";
import { byteSizeFlag } from "../../util/byteSize.js";
import { integerFlag } from "../../util/integerFlag.js";
import { Exit, type IO } from "../io.js";
import { outPathRefused } from "../outPath.js";

export interface PackCliOptions {
  readonly out?: string;
  readonly shardSize?: string;
  readonly seed: string;
  readonly limit?: string;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/** Where a data argument's files are: the keyword for Debian's Fashion-MNIST, or the folder. */
async function sourceOf(src: string) {
  const data = await import("../../lab/train/data/index.js");
  const { idxSource, imageFolderSource } = await import("../../lab/data/sources.js");
  const { hasIdxFiles } = await import("../../lab/train/data/idx.js");
  if (src === "fashion-mnist") {
    if (!existsSync(data.fashionMnistDir))
      throw new ShardError(
        data.fashionMnistDir,
        "Fashion-MNIST is not installed; on Debian or Ubuntu: apt-get install dataset-fashion-mnist",
      );
    return idxSource(data.fashionMnistDir);
  }
  const st = statSync(src, { throwIfNoEntry: false });
  if (!st)
    throw new ShardError(
      src,
      "no such folder (pack fashion-mnist, an IDX folder or an image folder)",
    );
  if (!st.isDirectory()) throw new ShardError(src, "is not a folder");
  return hasIdxFiles(src) ? idxSource(src) : imageFolderSource(src);
}

function describe(index: ShardIndex, dir: string): string[] {
  const lines = [
    `${dir}: ${index.classes.length} classes, from ${index.source}` +
      (index.shape ? `, images ${index.shape.join("x")}` : ""),
  ];
  for (const [name, s] of Object.entries(index.splits)) {
    const bytes = s.shards.reduce((n, x) => n + x.bytes, 0);
    lines.push(
      `  ${name}: ${s.count.toLocaleString("en-US")} samples in ${s.shards.length} shard${s.shards.length === 1 ? "" : "s"} (${mb(bytes)})`,
    );
  }
  return lines;
}

/** `archc data pack SRC -o DIR`. */
export async function dataPackCommand(io: IO, src: string, o: PackCliOptions): Promise<number> {
  if (!o.out) {
    io.err(
      "archc data pack: -o DIR is required: the folder to write the shards and index.json into",
    );
    return Exit.usage;
  }
  if (outPathRefused(io, "data pack -o", o.out, "folder")) return Exit.usage;
  const shardBytes = o.shardSize
    ? byteSizeFlag("shard-size", o.shardSize, 4096)
    : defaultShardBytes;
  const seed = integerFlag("seed", o.seed, 0);
  const limit = o.limit === undefined ? undefined : integerFlag("limit", o.limit, 1);
  for (const v of [shardBytes, seed, limit])
    if (typeof v === "object") {
      io.err(`archc data pack: ${v.error}`);
      return Exit.usage;
    }
  try {
    const source = await sourceOf(src);
    let last = 0;
    const index = await packShards(source, src, o.out, {
      shardBytes: shardBytes as number,
      seed: seed as number,
      ...(limit !== undefined ? { limit: limit as number } : {}),
      progress: (done, total) => {
        if (o.quiet || o.json || Date.now() - last < 3000) return;
        last = Date.now();
        io.err(`packed ${done}/${total} samples`);
      },
    });
    if (o.json) io.out(JSON.stringify(index, null, 2));
    else io.err(`wrote ${join(o.out, "index.json")}\n${describe(index, o.out).join("\n")}`);
    return Exit.ok;
  } catch (e) {
    if (e instanceof ShardError || (e as Error).name === "DataError") {
      io.err(`archc data pack: ${(e as Error).message}`);
      return Exit.diagnostics;
    }
    throw e;
  }
}

/** `archc data info DIR [--verify]`. */
export async function dataInfoCommand(
  io: IO,
  dir: string,
  o: { verify?: boolean; json?: boolean },
): Promise<number> {
  try {
    const index = readShardIndex(dir);
    const verified = o.verify ? await verifyShards(dir, index) : undefined;
    if (o.json) io.out(JSON.stringify({ ...index, ...(o.verify ? { verified } : {}) }, null, 2));
    else {
      io.out(describe(index, dir).join("\n"));
      if (verified !== undefined) io.out(`  sha256 of all ${verified} shards as recorded`);
    }
    return Exit.ok;
  } catch (e) {
    if (e instanceof ShardError) {
      io.err(`archc data info: ${e.message}`);
      return Exit.diagnostics;
    }
    throw e;
  }
}
