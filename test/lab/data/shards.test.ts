import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { packShards } from "../../../compiler/lab/data/pack.js";
import { readSplit } from "../../../compiler/lab/data/read.js";
import { readShardIndex, ShardError, verifyShards } from "../../../compiler/lab/data/shardIndex.js";
import { idxSource, imageFolderSource } from "../../../compiler/lab/data/sources.js";
import { epochOrder } from "../../../compiler/lab/train/data/random.js";
import { python } from "../../backends/torch/python.js";
import { idxBytes } from "../../idx.js";
import { tempRoot } from "../../tempRoot.js";

const root = tempRoot("shards");

/** An IDX file of unsigned bytes (MNIST's format), written by hand. */
function idx(path: string, dims: number[], data: Uint8Array): void {
  writeFileSync(path, idxBytes(dims, data));
}

/** n images of h x w whose pixels encode their index, and labels i % classes. */
function idxFolder(name: string, n: number, h: number, w: number, classes: number): string {
  const dir = join(root, name);
  mkdirSync(dir);
  const px = new Uint8Array(n * h * w).map((_, j) => (Math.floor(j / (h * w)) * 7 + j) % 256);
  idx(join(dir, "train-images-idx3-ubyte"), [n, h, w], px);
  idx(
    join(dir, "train-labels-idx1-ubyte"),
    [n],
    new Uint8Array(n).map((_, i) => i % classes),
  );
  const m = Math.ceil(n / 4);
  idx(join(dir, "t10k-images-idx3-ubyte"), [m, h, w], px.subarray(0, m * h * w));
  idx(
    join(dir, "t10k-labels-idx1-ubyte"),
    [m],
    new Uint8Array(m).map((_, i) => i % classes),
  );
  return dir;
}

/** The pixels of a binary PGM. */
function pgmPixels(bytes: Buffer): Buffer {
  const text = bytes.subarray(0, 20).toString("latin1");
  const header = /^P5\n(\d+) (\d+)\n255\n/.exec(text)!;
  return bytes.subarray(header[0].length);
}

describe("archc data pack: IDX files into WebDataset tar shards", () => {
  const src = idxFolder("idx", 200, 6, 5, 4);
  const out = join(root, "idx-shards");
  let packed: Awaited<ReturnType<typeof packShards>>;

  it("writes several shards per split and an index whose counts add up", async () => {
    packed = await packShards(await idxSource(src), src, out, { shardBytes: 16 * 1024, seed: 3 });
    const index = readShardIndex(out);
    expect(index).toEqual(packed);
    expect(index.classes).toEqual(["0", "1", "2", "3"]);
    expect(index.shape).toEqual([6, 5, 1]);
    expect(index.splits["train"]!.count).toBe(200);
    expect(index.splits["test"]!.count).toBe(50);
    expect(index.splits["train"]!.perClass).toEqual([50, 50, 50, 50]);
    expect(index.splits["train"]!.shards.length).toBeGreaterThan(3);
    for (const s of index.splits["train"]!.shards) expect(s.bytes).toBeLessThanOrEqual(16 * 1024);
    expect(await verifyShards(out, index)).toBe(
      index.splits["train"]!.shards.length + index.splits["test"]!.shards.length,
    );
  });

  it("every sample reads back with its pixels and label, in the seeded packing order", async () => {
    const order = epochOrder(200, 3, 0, true);
    let pos = 0;
    for await (const s of readSplit(out, packed, "train")) {
      const i = order[pos]!;
      expect(s.key).toBe(String(pos).padStart(9, "0"));
      expect(s.ext).toBe("pgm");
      expect(s.label).toBe(i % 4);
      const want = Buffer.from(
        new Uint8Array(30).map((_, j) => (Math.floor((i * 30 + j) / 30) * 7 + i * 30 + j) % 256),
      );
      expect(pgmPixels(s.bytes).equals(want)).toBe(true);
      pos++;
    }
    expect(pos).toBe(200);
  });

  it("packs the same input to the same bytes; --limit takes a seeded subset", async () => {
    const again = join(root, "idx-again");
    const second = await packShards(await idxSource(src), src, again, {
      shardBytes: 16 * 1024,
      seed: 3,
    });
    expect(second.splits).toEqual(packed.splits);
    const small = await packShards(await idxSource(src), src, join(root, "idx-limit"), {
      shardBytes: 16 * 1024,
      seed: 3,
      limit: 10,
    });
    expect([small.splits["train"]!.count, small.splits["test"]!.count]).toEqual([10, 10]);
  });

  it("Python's standard tarfile reads the shards: the torch engine needs nothing else", () => {
    const first = packed.splits["train"]!.shards[0]!;
    const script = [
      "import sys, tarfile",
      "t = tarfile.open(sys.argv[1])",
      "names = t.getnames()",
      "labels = [int(t.extractfile(n).read()) for n in names if n.endswith('.cls')]",
      "print(len(names), len(labels), sum(labels))",
    ].join("\n");
    const got = execFileSync(python, ["-c", script, join(out, first.file)], {
      encoding: "utf8",
    }).trim();
    const order = epochOrder(200, 3, 0, true).slice(0, first.count);
    const sum = order.reduce((a, i) => a + (i % 4), 0);
    expect(got).toBe(`${2 * first.count} ${first.count} ${sum}`);
  });

  it("refuses a folder that is not empty, and leaves no shard behind a failed pack", async () => {
    await expect(
      packShards(await idxSource(src), src, out, { shardBytes: 16 * 1024, seed: 3 }),
    ).rejects.toThrow(/is not empty/);
    const bad = idxFolder("idx-bad", 20, 2, 2, 3);
    // A label beyond the classes the index names: fail, naming the file, and clean up.
    const source = await idxSource(bad);
    const lying = { ...source, classes: ["a", "b"] };
    const dest = join(root, "idx-bad-shards");
    await expect(packShards(lying, bad, dest, { shardBytes: 4096, seed: 0 })).rejects.toThrow(
      /train-images-idx3-ubyte\[\d+\]: label 2 is beyond the 2 classes/,
    );
    expect(readdirSync(dest)).toEqual([]);
  });
});

describe("archc data pack: image folders, bytes as they are", () => {
  it("train/ and val/ become splits; each image is packed byte for byte", async () => {
    const src = join(root, "folder");
    const files: Record<string, Buffer> = {};
    for (const split of ["train", "val"])
      for (const [c, cls] of ["cat", "dog"].entries())
        for (let i = 0; i < 3; i++) {
          mkdirSync(join(src, split, cls), { recursive: true });
          const img = sharp({
            create: {
              width: 4 + i,
              height: 3,
              channels: 3,
              background: { r: 40 * c, g: i, b: split === "val" ? 200 : 9 },
            },
          });
          const bytes = await (i % 2 ? img.jpeg() : img.png()).toBuffer();
          const path = join(src, split, cls, `${i}.${i % 2 ? "jpg" : "png"}`);
          writeFileSync(path, bytes);
          files[bytes.toString("base64")] = bytes;
        }
    const out = join(root, "folder-shards");
    const index = await packShards(await imageFolderSource(src), src, out, {
      shardBytes: 1 << 20,
      seed: 1,
    });
    expect(index.classes).toEqual(["cat", "dog"]);
    expect(index.shape).toBeUndefined();
    expect(Object.keys(index.splits)).toEqual(["train", "val"]);
    const seen = new Set<string>();
    for (const split of ["train", "val"])
      for await (const s of readSplit(out, index, split)) {
        const b64 = s.bytes.toString("base64");
        expect(files[b64], `${split} ${s.key}`).toBeDefined();
        expect(s.ext).toBe(s.bytes[0] === 0xff ? "jpg" : "png");
        seen.add(b64);
      }
    expect(seen.size).toBe(12);
  });

  it("a file that is neither JPEG nor PNG is named", async () => {
    const src = join(root, "folder-bad");
    mkdirSync(join(src, "a"), { recursive: true });
    writeFileSync(join(src, "a", "x.png"), "not an image");
    await expect(
      packShards(await imageFolderSource(src), src, join(root, "fb-out"), {
        shardBytes: 4096,
        seed: 0,
      }),
    ).rejects.toThrow(/x\.png: is neither a JPEG nor a PNG/);
  });
});

describe("a damaged pack is an error that names the file", () => {
  const fresh = async (name: string) => {
    const src = idxFolder(`${name}-src`, 40, 4, 4, 2);
    const out = join(root, name);
    const index = await packShards(await idxSource(src), src, out, { shardBytes: 4096, seed: 0 });
    return { out, index, shard: join(out, index.splits["train"]!.shards[1]!.file) };
  };

  it("a missing shard, a truncated shard, a flipped byte, a damaged index", async () => {
    const a = await fresh("dmg-missing");
    rmSync(a.shard);
    expect(() => readShardIndex(a.out)).toThrow(ShardError);
    expect(() => readShardIndex(a.out)).toThrow(`${a.shard}: is missing`);

    const b = await fresh("dmg-truncated");
    truncateSync(b.shard, 1000);
    expect(() => readShardIndex(b.out)).toThrow(`${b.shard}: is 1000 bytes`);

    const c = await fresh("dmg-flip");
    const bytes = readFileSync(c.shard);
    bytes[700] = bytes[700]! ^ 0x10;
    writeFileSync(c.shard, bytes);
    const index = readShardIndex(c.out); // same size: only the checksum tells
    await expect(verifyShards(c.out, index)).rejects.toThrow(`${c.shard}: its sha256 differs`);

    const d = await fresh("dmg-index");
    const path = join(d.out, "index.json");
    const text = readFileSync(path, "utf8");
    writeFileSync(path, text.replace('"count": 40', '"count": 41'));
    expect(() => readShardIndex(d.out)).toThrow(/split 'train' says 41 samples/);
    writeFileSync(path, text.replace(/"file": "train-000001.tar"/, '"file": "../x.tar"'));
    expect(() => readShardIndex(d.out)).toThrow(/is not an archc shard index/);
    writeFileSync(path, "{");
    expect(() => readShardIndex(d.out)).toThrow(/index.json: is not valid JSON/);
    rmSync(path);
    expect(() => readShardIndex(d.out)).toThrow(/index.json: no such file/);
  });

  it("a shard whose members are not samples is named when read", async () => {
    const e = await fresh("dmg-members");
    const index = readShardIndex(e.out);
    const first = join(e.out, index.splits["train"]!.shards[0]!.file);
    const bytes = readFileSync(first);
    // Rename the first member's extension (.pgm -> .xyz) inside its tar header (same size).
    const at = bytes.indexOf(".pgm");
    bytes.write(".xyz", at, "latin1");
    writeFileSync(first, bytes);
    const read = async () => {
      for await (const _ of readSplit(e.out, index, "train"));
    };
    await expect(read()).rejects.toThrow(ShardError);
    expect(existsSync(first)).toBe(true);
  });
});
