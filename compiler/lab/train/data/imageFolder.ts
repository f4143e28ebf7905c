import { join } from "node:path";
import { DecodePool, defaultDecodeThreads } from "../../data/pool.js";
import { Prefetcher, Slots, type Slot } from "../../data/prefetch.js";
import {
  checkBatchSize,
  checkChannels,
  checkLimit,
  DataError,
  toBatch,
  type Batch,
  type Dataset,
  type EpochOptions,
} from "./dataset.js";
import { isDir, listImageFolder, type ImageItem, type ImageListing } from "./imageListing.js";

export { listImageFolder, type ImageItem, type ImageListing } from "./imageListing.js";

/** A batch of an image folder decoded into its slot (rows of skipped files left out). */
interface Decoded {
  readonly slot: Slot;
  readonly labels: number[];
  readonly samples: number[];
}

/**
 * The indices (into `items`) of a deterministic holdout: in each class, `fraction` of its images
 * (at least one, where the class has two or more), evenly spaced through its sorted files. Per
 * class, so validation sees every class in its proportion; by position, not by seed, so the
 * split stays the same whatever seed a run trains with.
 */
export function holdoutIndices(items: readonly ImageItem[], fraction: number): Set<number> {
  if (!(fraction > 0 && fraction < 1))
    throw new DataError(`a holdout fraction must be between 0 and 1, not ${fraction}`);
  const byClass = new Map<number, number[]>();
  // Appended in place: copying each class's list per item was quadratic (minutes at 100k files).
  items.forEach((it, i) => {
    const list = byClass.get(it.label);
    if (list) list.push(i);
    else byClass.set(it.label, [i]);
  });
  const held = new Set<number>();
  for (const idx of byClass.values()) {
    const n = idx.length;
    const k = n < 2 ? 0 : Math.max(1, Math.round(n * fraction));
    for (let j = 0; j < k; j++) held.add(idx[Math.floor(((j + 0.5) * n) / k)]!);
  }
  return held;
}

/**
 * --limit on an image folder: the first N in turn from each class (class 0's first, class 1's
 * first, ..., then each's second), kept in listing order. Taking the first N of the listing
 * would give a small run one class only.
 */
export function limitBalanced(items: readonly ImageItem[], limit: number): ImageItem[] {
  if (limit >= items.length) return [...items];
  const byClass = new Map<number, number[]>();
  // Appended in place: copying each class's list per item was quadratic (minutes at 100k files).
  items.forEach((it, i) => {
    const list = byClass.get(it.label);
    if (list) list.push(i);
    else byClass.set(it.label, [i]);
  });
  const queues = [...byClass.values()];
  const keep: number[] = [];
  for (let round = 0; keep.length < limit; round++)
    for (const q of queues) if (round < q.length && keep.length < limit) keep.push(q[round]!);
  return keep.sort((a, b) => a - b).map((i) => items[i]!);
}

export type FolderSplit =
  | { readonly kind: "folders"; readonly train: string; readonly val: string }
  | { readonly kind: "holdout"; readonly root: string; readonly fraction: number };

/** The validation folder names `splitFolder` accepts beside `train/`. */
const valNames = ["val", "validation"];

/**
 * How an image folder splits into training and validation: `train/` and `val/` (or
 * `validation/`) subfolders, each with the class folders; else a deterministic holdout of
 * `fraction` from the class folders in `root` (or in `train/`, where it stands alone).
 */
export function splitFolder(root: string, fraction = 0.1): FolderSplit {
  const train = join(root, "train");
  const val = valNames.map((n) => join(root, n)).find(isDir);
  if (isDir(train) && val) return { kind: "folders", train, val };
  return { kind: "holdout", root: isDir(train) ? train : root, fraction };
}

export interface ImageFolderOptions {
  /** The network's input: every image is resized (stretched) to h x w, as gray or RGB. */
  readonly shape: readonly [number, number, number];
  /** The network's outputs: the one-hot width; more class folders than this is an error. */
  readonly classes?: number;
  readonly limit?: number;
  /** Skip (and record in `skipped`) images that do not decode, instead of failing. */
  readonly skipCorrupt?: boolean;
  /**
   * --workers: decoding threads, shared with packs (compiler/lab/data/pool.ts; default the cores
   * but one); 0 decodes on the calling thread, one image at a time.
   */
  readonly threads?: number;
  readonly name?: string;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0]!.trim();
}

/**
 * Images streamed from disk: the file list is read up front; each image is read, decoded (sharp)
 * and resized by the loader's decoding threads, as a pack's samples are, straight into its
 * batch's shared memory, two batches ahead of the one training (and the next epoch's first
 * while an epoch ends). Memory holds a few batches of pixels, never the whole folder.
 */
export function imageFolderDataset(
  source: string | { readonly root: string; readonly listing: ImageListing },
  o: ImageFolderOptions,
): Dataset {
  checkLimit(o.limit);
  const root = typeof source === "string" ? source : source.root;
  const listing = typeof source === "string" ? listImageFolder(root) : source.listing;
  const shape: [number, number, number] = [...o.shape];
  checkChannels(shape, root);
  const { classNames } = listing;
  if (o.classes !== undefined && classNames.length > o.classes)
    throw new DataError(
      `has ${classNames.length} class folders (${classNames.join(", ")}), but the network has ` +
        `${o.classes} outputs`,
      root,
    );
  const classes = o.classes ?? classNames.length;
  const items = o.limit !== undefined ? limitBalanced(listing.items, o.limit) : [...listing.items];
  if (items.length === 0) throw new DataError("has no images to deliver for this split", root);
  const skipped: { path: string; reason: string }[] = [];
  // Files found corrupt once are not decoded again in later epochs.
  const bad = new Set<number>();
  const px = shape[0] * shape[1] * shape[2];
  const pool = DecodePool.shared(o.threads ?? defaultDecodeThreads(), false);
  const slots = new Slots();

  const decodeBatch = async (idx: number[]): Promise<Decoded> => {
    const ok = idx.filter((k) => !bad.has(k));
    const slot = slots.take(ok.length * px * 4);
    // Where a decoding thread dies this rejects, and the slot stays busy for good: the other
    // threads may still write into it.
    const failures = await pool.decodeBatch({
      samples: ok.map((k) => ({ path: items[k]!.path, sample: k })),
      shape,
      out: slot.memory,
    });
    const keep: number[] = [];
    for (const [j, k] of ok.entries()) {
      const why = failures.get(j);
      if (why === undefined) {
        // Rows after a skipped one move up, so that the batch's rows stay contiguous.
        if (keep.length < j)
          new Float32Array(slot.memory).copyWithin(keep.length * px, j * px, (j + 1) * px);
        keep.push(k);
        continue;
      }
      const path = items[k]!.path;
      if (!o.skipCorrupt) {
        slot.busy = false;
        throw new DataError(
          `cannot be decoded as an image (${firstLine(why)}); pass --skip-corrupt to skip such files`,
          path,
        );
      }
      // Two epochs' batches may meet the same file at once: record it once.
      if (!bad.has(k)) skipped.push({ path, reason: firstLine(why) });
      bad.add(k);
    }
    return { slot, labels: keep.map((k) => items[k]!.label), samples: keep };
  };
  const loader = new Prefetcher({ size: items.length, prefetch: 2, decode: decodeBatch });

  return {
    name: o.name ?? root,
    size: items.length,
    classes,
    shape,
    skipped,
    classNames,
    origin: {
      kind: "files",
      files: items.map((it) => it.path),
      labels: items.map((it) => it.label),
      skipCorrupt: !!o.skipCorrupt,
    },
    warm: () => pool.start(),
    async *batches(batchSize: number, e: EpochOptions): AsyncIterable<Batch> {
      checkBatchSize(batchSize);
      for await (const d of loader.epoch(batchSize, e)) {
        // A batch whose every image was skipped is left out rather than yielded empty.
        if (d.labels.length === 0) {
          d.slot.busy = false;
          continue;
        }
        const x = new Float32Array(d.slot.memory, 0, d.samples.length * px);
        const b = toBatch(x, d.labels, shape, classes);
        d.slot.held = b.x;
        d.slot.busy = false;
        yield { ...b, samples: d.samples };
      }
    },
  };
}

export interface OpenImageFolderOptions extends ImageFolderOptions {
  /** Held out for validation where there are no train/ and val/ folders. Default 0.1. */
  readonly holdout?: number;
}

/**
 * One split of an image folder (see `splitFolder`). With train/ and val/ folders, both must
 * have the same class folders, or a label would mean different classes in the two.
 */
export function openImageFolder(
  root: string,
  split: "train" | "val",
  o: OpenImageFolderOptions,
): Dataset {
  const s = splitFolder(root, o.holdout ?? 0.1);
  const name = o.name ?? `${root} (${split})`;
  if (s.kind === "folders") {
    const train = listImageFolder(s.train);
    const dir = split === "train" ? s.train : s.val;
    const listing = split === "train" ? train : listImageFolder(s.val);
    if (listing.classNames.join("\n") !== train.classNames.join("\n"))
      throw new DataError(
        `has class folders [${listing.classNames.join(", ")}], but ${s.train} has ` +
          `[${train.classNames.join(", ")}]; the two must match`,
        dir,
      );
    return imageFolderDataset({ root: dir, listing }, { ...o, name });
  }
  const all = listImageFolder(s.root);
  const held = holdoutIndices(all.items, s.fraction);
  const items = all.items.filter((_, i) => held.has(i) === (split === "val"));
  if (items.length === 0)
    throw new DataError(
      `has too few images to hold out ${s.fraction} for validation; add images or make ` +
        `train/ and val/ folders`,
      s.root,
    );
  return imageFolderDataset({ root: s.root, listing: { ...all, items } }, { ...o, name });
}
