import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ShardError } from "./shardIndex.js";
import { importModule } from "../../util/importModule.js";

/** One sample as it goes into a shard: its label and its image, encoded. */
export interface EncodedSample {
  readonly label: number;
  readonly ext: ImageExt;
  readonly bytes: Uint8Array;
  /** Where it came from, for errors. */
  readonly origin: string;
}

export type ImageExt = "jpg" | "png" | "pgm" | "ppm";

export interface SourceSplit {
  readonly name: string;
  readonly count: number;
  /** The i-th sample of the split, read when asked for: nothing is decoded or held for all. */
  sample(i: number): Promise<EncodedSample>;
}

/** What `data pack` reads: class names, the image size where it is fixed, and the splits. */
export interface PackSource {
  readonly classes: readonly string[];
  readonly shape?: readonly [number, number, number];
  readonly splits: readonly SourceSplit[];
}

/** The format of an encoded image, from its first bytes (the name may lie). */
export function sniffImage(bytes: Uint8Array): "jpg" | "png" | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff)
    return "jpg";
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && png.every((b, i) => bytes[i] === b)) return "png";
  return undefined;
}

/**
 * Raw 8-bit pixels as a binary PGM (one channel) or PPM (three): lossless, a 15-byte header,
 * and read by PIL and by the few lines of Python the torch engine needs without PIL.
 */
export function netpbm(pixels: Uint8Array, h: number, w: number, c: 1 | 3): Uint8Array {
  const header = Buffer.from(`${c === 1 ? "P5" : "P6"}\n${w} ${h}\n255\n`, "latin1");
  return Buffer.concat([header, pixels]);
}

/** IDX files (MNIST's format): `train` and, where present, `test` (the t10k files). */
export async function idxSource(dir: string): Promise<PackSource> {
  const { findIdxFiles, readIdx } = await import("../train/data/idx.js");
  const splits: SourceSplit[] = [];
  let shape: [number, number, number] | undefined;
  let classes = 0;
  for (const split of ["train", "test"] as const) {
    const files = findIdxFiles(dir, split);
    if (!files.images && !files.labels) continue;
    if (!files.images || !files.labels)
      throw new ShardError(
        dir,
        `has ${split} ${files.images ? "images" : "labels"} but not its ${files.images ? "labels" : "images"}`,
      );
    const images = readIdx(files.images);
    const labels = readIdx(files.labels);
    if (images.dtype !== "uint8" || (images.dims.length !== 3 && images.dims.length !== 4))
      throw new ShardError(
        files.images,
        "images must be unsigned bytes of rank 3 (n, h, w) or 4 (n, h, w, c)",
      );
    const [n, h, w, c = 1] = images.dims as [number, number, number, number?];
    if (c !== 1 && c !== 3)
      throw new ShardError(files.images, `images have ${c} channels; 1 or 3 can be packed`);
    if (labels.dims.length !== 1 || labels.dims[0] !== n)
      throw new ShardError(files.labels, `holds ${labels.dims.join("x")} labels for ${n} images`);
    const here: [number, number, number] = [h, w, c];
    if (shape && shape.join() !== here.join())
      throw new ShardError(
        files.images,
        `images are ${here.join("x")}, the train split's ${shape.join("x")}`,
      );
    shape = here;
    const lab = labels.data;
    for (let i = 0; i < n; i++) {
      const l = lab[i]!;
      if (!Number.isInteger(l) || l < 0)
        throw new ShardError(files.labels, `label ${i} is ${l}, not a class index`);
      classes = Math.max(classes, l + 1);
    }
    const px = images.data as Uint8Array;
    const size = h * w * c;
    splits.push({
      name: split,
      count: n,
      sample: async (i) => ({
        label: lab[i]!,
        ext: c === 1 ? "pgm" : "ppm",
        bytes: netpbm(px.subarray(i * size, (i + 1) * size), h, w, c as 1 | 3),
        origin: `${files.images}[${i}]`,
      }),
    });
  }
  if (splits.length === 0) throw new ShardError(dir, "holds no IDX files");
  return { classes: Array.from({ length: classes }, (_, i) => String(i)), shape, splits };
}

/**
 * An image folder (one folder per class): `train/` beside `val/` or `validation/` (and `test/`
 * where present) become those splits, each with the same class folders; a folder of class
 * folders alone is the `train` split. Images are packed as they are, never re-encoded.
 */
export async function imageFolderSource(root: string): Promise<PackSource> {
  const { listImageFolder } = await import("../train/data/imageListing.js");
  const { statSync } = await importModule("node:fs", () => import("node:fs"));
  const isDir = (p: string) => statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
  const named: [string, string][] = [];
  if (isDir(join(root, "train"))) {
    named.push(["train", join(root, "train")]);
    const val = ["val", "validation"].map((n) => join(root, n)).find(isDir);
    if (val) named.push(["val", val]);
    if (isDir(join(root, "test"))) named.push(["test", join(root, "test")]);
  } else named.push(["train", root]);
  let classes: string[] | undefined;
  const splits: SourceSplit[] = [];
  for (const [name, dir] of named) {
    const listing = listImageFolder(dir);
    if (classes && classes.join("\n") !== listing.classNames.join("\n"))
      throw new ShardError(
        dir,
        `has the class folders ${listing.classNames.join(", ")}; train has ${classes.join(", ")}`,
      );
    classes = listing.classNames;
    const items = listing.items;
    splits.push({
      name,
      count: items.length,
      sample: async (i) => {
        const it = items[i]!;
        let bytes: Uint8Array;
        try {
          bytes = await readFile(it.path);
        } catch (e) {
          throw new ShardError(
            it.path,
            `cannot be read (${(e as NodeJS.ErrnoException).code ?? e})`,
          );
        }
        const ext = sniffImage(bytes);
        if (!ext)
          throw new ShardError(it.path, "is neither a JPEG nor a PNG image (by its first bytes)");
        return { label: it.label, ext, bytes, origin: it.path };
      },
    });
  }
  return { classes: classes!, splits };
}
