import { createHash } from "node:crypto";
import { createReadStream, lstatSync, readFileSync } from "node:fs";
import { reason } from "../../util/files.js";
import { join } from "node:path";
import { Ajv } from "ajv";

/**
 * The index of a packed data set (`archc data pack`): which tar shards hold which split, how many
 * samples each holds, and each shard's size and sha256, so a damaged or missing shard is found
 * before training reads it. The shards follow WebDataset's layout: a sample is the files that
 * share a key, here `KEY.png|.jpg|.pgm` (the encoded image) and `KEY.cls` (the label, decimal).
 */
export const indexFile = "index.json";
export const shardFormat = "archc-shards";
export const shardVersion = 1;

export interface ShardEntry {
  readonly file: string;
  /** Samples in this shard. */
  readonly count: number;
  readonly bytes: number;
  readonly sha256: string;
}

export interface SplitEntry {
  readonly count: number;
  /** Samples per class label, for info and for checking a network's outputs. */
  readonly perClass: readonly number[];
  readonly shards: readonly ShardEntry[];
}

export interface ShardIndex {
  readonly format: typeof shardFormat;
  readonly version: typeof shardVersion;
  /** What was packed, as given to `data pack`. */
  readonly source: string;
  /** Class names by label. */
  readonly classes: readonly string[];
  /** Image size where every image has the same (IDX data); absent for image folders. */
  readonly shape?: readonly [number, number, number];
  /** The source's own splits: `train`, and `val` or `test` where it has them. */
  readonly splits: Readonly<Record<string, SplitEntry>>;
}

const schema = {
  type: "object",
  required: ["format", "version", "source", "classes", "splits"],
  additionalProperties: false,
  properties: {
    format: { const: shardFormat },
    version: { const: shardVersion },
    source: { type: "string" },
    classes: { type: "array", minItems: 1, items: { type: "string" } },
    shape: {
      type: "array",
      minItems: 3,
      maxItems: 3,
      items: { type: "integer", minimum: 1 },
    },
    splits: {
      type: "object",
      minProperties: 1,
      propertyNames: { pattern: "^[a-z][a-z0-9_-]*$" },
      additionalProperties: {
        type: "object",
        required: ["count", "perClass", "shards"],
        additionalProperties: false,
        properties: {
          count: { type: "integer", minimum: 0 },
          perClass: { type: "array", items: { type: "integer", minimum: 0 } },
          shards: {
            type: "array",
            items: {
              type: "object",
              required: ["file", "count", "bytes", "sha256"],
              additionalProperties: false,
              properties: {
                // A plain name in the index's folder: an index cannot point elsewhere.
                file: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*\\.tar$" },
                count: { type: "integer", minimum: 1 },
                bytes: { type: "integer", minimum: 512 },
                sha256: { type: "string", pattern: "^[0-9a-f]{64}$" },
              },
            },
          },
        },
      },
    },
  },
} as const;

let validator: (((x: unknown) => boolean) & { errors?: unknown }) | undefined;

/** A packed data set that cannot be used as it is: says what, naming the file. */
export class ShardError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = "ShardError";
  }
}

function validate(x: unknown): x is ShardIndex {
  validator ??= new Ajv({ allErrors: false }).compile(schema);
  return validator(x);
}

/** Reads and checks `DIR/index.json`: its schema, sums that add up, and every shard present at its size. */
export function readShardIndex(dir: string): ShardIndex {
  const path = join(dir, indexFile);
  let st;
  try {
    st = lstatSync(path, { throwIfNoEntry: false });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOTDIR")
      throw new ShardError(dir, "is not a folder: give the folder `archc data pack` wrote");
    throw new ShardError(path, `cannot be read: ${reason(e)}`);
  }
  if (!st)
    throw new ShardError(path, "no such file: is this a folder written by `archc data pack`?");
  if (!st.isFile()) throw new ShardError(path, "is not a regular file");
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new ShardError(path, `is not valid JSON (${(e as Error).message})`);
  }
  if (!validate(parsed)) {
    const err = (
      validator!.errors as { instancePath: string; message?: string }[] | undefined
    )?.[0];
    throw new ShardError(
      path,
      `is not an archc shard index (${err?.instancePath || "/"} ${err?.message ?? ""})`.trim(),
    );
  }
  const index = parsed;
  for (const [name, split] of Object.entries(index.splits)) {
    const total = split.shards.reduce((n, s) => n + s.count, 0);
    const byClass = split.perClass.reduce((n, c) => n + c, 0);
    if (total !== split.count || byClass !== split.count)
      throw new ShardError(
        path,
        `split '${name}' says ${split.count} samples, but its shards hold ${total} and its classes ${byClass}`,
      );
    if (split.perClass.length > index.classes.length)
      throw new ShardError(path, `split '${name}' counts more classes than the index names`);
    for (const s of split.shards) {
      const file = join(dir, s.file);
      const fst = lstatSync(file, { throwIfNoEntry: false });
      if (!fst) throw new ShardError(file, `is missing (split '${name}' lists it)`);
      if (!fst.isFile()) throw new ShardError(file, "is not a regular file");
      if (fst.size !== s.bytes)
        throw new ShardError(
          file,
          `is ${fst.size} bytes; the index recorded ${s.bytes}: damaged or from another pack`,
        );
    }
  }
  return index;
}

/** sha256 of a file, streamed: shards can be gigabytes. */
export async function fileSha256(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** Checks every shard's sha256 against the index (reads every byte); throws on the first mismatch. */
export async function verifyShards(dir: string, index: ShardIndex): Promise<number> {
  let n = 0;
  for (const split of Object.values(index.splits))
    for (const s of split.shards) {
      const file = join(dir, s.file);
      if ((await fileSha256(file)) !== s.sha256)
        throw new ShardError(file, "its sha256 differs from the index's: the shard is damaged");
      n++;
    }
  return n;
}
