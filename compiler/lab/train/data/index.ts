import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { IRGraph } from "../../../language/ir/types.js";
import { checkLimit, DataError, type Dataset } from "./dataset.js";
import { findIdxFiles, hasIdxFiles, openIdxDirectory } from "./idx.js";
import { imageFolderDataset, openImageFolder } from "./imageFolder.js";
import { syntheticDataset } from "./synthetic.js";
import { withViews } from "./views.js";
import type { InputAdaptation } from "./adapt.js";
import { defaultValSplit, holdOut } from "./split.js";
import { indexFile, openShardDataset } from "../../data/shardDataset.js";

export { DataError, type Batch, type Dataset, type EpochOptions } from "./dataset.js";
export {
  findIdxFiles,
  idxFileNames,
  loadIdxDataset,
  openIdxDirectory,
  readIdx,
  type IdxArray,
  type IdxOptions,
} from "./idx.js";
export {
  imageFolderDataset,
  listImageFolder,
  openImageFolder,
  splitFolder,
  type FolderSplit,
  type ImageFolderOptions,
} from "./imageFolder.js";
export { syntheticDataset, type SyntheticOptions } from "./synthetic.js";
export { withViews } from "./views.js";
export { adaptationFor, type InputAdaptation } from "./adapt.js";
export { checkValSplit, defaultValSplit, holdOut } from "./split.js";
export { deriveSeed, epochOrder, Random } from "./random.js";

/** Debian's package dataset-fashion-mnist installs the four gzipped IDX files here. */
export const fashionMnistDir = "/usr/share/datasets/fashion-mnist";

/** Examples in `synthetic` without a count; validation gets a fifth as many. */
export const defaultSyntheticSize = 512;

export interface OpenOptions {
  /** The network's input, h, w, c: every source delivers exactly this. */
  readonly shape: readonly [number, number, number];
  /** The network's outputs; a source with more classes is an error. Default: the source's. */
  readonly classes?: number;
  /**
   * train and val: the training examples less those held out, and those held out (IDX sources;
   * image folders hold out their own, see imageFolder.ts; synthetic data generates each); test:
   * the source's test set (IDX t10k-*, an image folder's test/), for `archc eval` only.
   */
  readonly split: DataSplit;
  readonly limit?: number;
  readonly skipCorrupt?: boolean;
  /** Generates synthetic data and draws the validation split (epoch orders are the loop's). */
  readonly seed?: number;
  /** Fraction of an IDX source's training examples held out to validate (default 0.1). */
  readonly valSplit?: number;
  /** Resizing and channel repetition the user allowed for images of another shape. */
  readonly adapt?: InputAdaptation;
  /** Decoding threads of packs and image folders (--workers; 0: on the main thread). */
  readonly workers?: number;
}

export type DataSplit = "train" | "val" | "test";

/**
 * Opens a data source by name:
 * - `synthetic` or `synthetic:N`: N generated examples (default 512), validation and test N/5
 *   others each;
 * - `fashion-mnist`: Debian's dataset-fashion-mnist (train-* less a seeded `valSplit` held out
 *   to validate; t10k-* is the test set);
 * - `mnist:DIR` or `idx:DIR`, or a folder holding IDX files: the same for any MNIST-like set;
 * - a folder `archc data pack` wrote (an index.json of tar shards): streamed from its shards
 *   (train and val as the pack's own splits, else train less a seeded `valSplit` held out);
 * - any other folder: an image folder (class folders, or train/ and val/ with class folders;
 *   without those a tenth of each class is held out to validate; test/ is the test set).
 * IDX images of another size or channel count than the network's input are an error unless
 * `adapt` allows resizing and channel repetition. A folder named like a keyword is ./synthetic.
 */
/** Each epoch orders every example in one array: more than this is memory, not a smoke test. */
const maxSyntheticSize = 2 ** 24;

export async function openDataset(spec: string, o: OpenOptions): Promise<Dataset> {
  return withViews(await openSource(spec, o));
}

async function openSource(spec: string, o: OpenOptions): Promise<Dataset> {
  checkLimit(o.limit);
  const synthetic = /^synthetic(?::(.*))?$/.exec(spec);
  if (synthetic) {
    const count = synthetic[1];
    const n = count === undefined ? defaultSyntheticSize : Number(count);
    if (!Number.isInteger(n) || n < 1 || n > maxSyntheticSize)
      throw new DataError(
        `${spec}: synthetic:N needs N, a positive whole number of examples, at most ${maxSyntheticSize.toLocaleString("en-US")}`,
      );
    const wanted = o.split === "train" ? n : Math.ceil(n / 5);
    const data = syntheticDataset({
      shape: o.shape,
      classes: o.classes ?? 10,
      size: Math.min(o.limit ?? wanted, wanted),
      seed: o.seed ?? 0,
      stream: { train: 0, val: 1, test: 2 }[o.split],
    });
    return { ...data, name: `${spec} (${o.split})` };
  }
  const keyword = spec.toLowerCase().replace(/_/g, "-");
  const prefixed = /^(mnist|idx):(.+)$/.exec(spec);
  const dir = keyword === "fashion-mnist" ? fashionMnistDir : prefixed ? prefixed[2]! : spec;
  if (!existsSync(dir)) {
    if (keyword === "fashion-mnist")
      throw new DataError(
        "Fashion-MNIST is not installed; on Debian or Ubuntu: apt-get install dataset-fashion-mnist",
        dir,
      );
    throw new DataError(
      "no such folder (a data source is synthetic[:N], fashion-mnist, mnist:DIR, an IDX " +
        "folder or an image folder)",
      dir,
    );
  }
  if (!statSync(dir).isDirectory()) throw new DataError("is not a folder", dir);
  const common = {
    shape: o.shape,
    ...(o.classes !== undefined ? { classes: o.classes } : {}),
    ...(o.limit !== undefined ? { limit: o.limit } : {}),
  };
  if (!prefixed && existsSync(join(dir, indexFile)))
    return openShardDataset(dir, {
      ...common,
      split: o.split,
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
      ...(o.valSplit !== undefined ? { valSplit: o.valSplit } : {}),
      ...(o.adapt ? { adapt: o.adapt } : {}),
      ...(o.workers !== undefined ? { threads: o.workers } : {}),
    });
  if (keyword === "fashion-mnist" || prefixed || hasIdxFiles(dir)) {
    const idxSplit = o.split === "test" ? "test" : "train";
    const f = findIdxFiles(dir, idxSplit);
    if (o.split === "test" && !f.images && !f.labels)
      throw new DataError("has no t10k-* files: this source has no test set", dir);
    const fraction = o.valSplit ?? defaultValSplit;
    if (o.split === "val" && fraction === 0)
      throw new DataError("--val-split 0 holds nothing out: there is no validation set", dir);
    const part = o.split === "train" ? "kept" : "held";
    return openIdxDirectory(dir, idxSplit, {
      ...common,
      name: `${spec} (${o.split})`,
      ...(o.adapt ? { adapt: o.adapt } : {}),
      ...(o.split !== "test" && fraction > 0
        ? { select: (n: number) => holdOut(n, fraction, o.seed ?? 0)[part] }
        : {}),
    });
  }
  if (o.split === "test") {
    const test = join(dir, "test");
    if (!existsSync(test) || !statSync(test).isDirectory())
      throw new DataError("has no test/ folder of class folders: this source has no test set", dir);
    return imageFolderDataset(test, {
      ...common,
      ...(o.workers !== undefined ? { threads: o.workers } : {}),
      name: `${spec} (test)`,
      ...(o.skipCorrupt ? { skipCorrupt: true } : {}),
    });
  }
  return openImageFolder(dir, o.split, {
    ...common,
    ...(o.workers !== undefined ? { threads: o.workers } : {}),
    ...(o.skipCorrupt ? { skipCorrupt: true } : {}),
  });
}

/** What a run reads besides its data source: seed, limits, a separate validation source. */
export interface RunDataOptions {
  readonly seed: number;
  readonly limit?: number;
  readonly valLimit?: number;
  readonly valData?: string;
  readonly skipCorrupt?: boolean;
  /** Fraction of the training examples held out to validate (IDX sources; default 0.1). */
  readonly valSplit?: number;
  readonly adapt?: InputAdaptation;
  readonly workers?: number;
}

/**
 * A run's training and validation sets, shaped to the network's input and class count; without
 * a validation limit, validation takes a fifth of the training limit. Shared by the embedded
 * trainer and the torch engine, so both train on the same examples.
 */
export async function openRunData(
  spec: string,
  graph: IRGraph,
  o: RunDataOptions,
): Promise<{ trainData: Dataset; valData?: Dataset }> {
  const shape = graph.input as [number, number, number];
  const classes = graph.nodes[graph.output]!.shape[0]!;
  const common = {
    shape,
    classes,
    seed: o.seed,
    ...(o.skipCorrupt ? { skipCorrupt: true } : {}),
    ...(o.valSplit !== undefined ? { valSplit: o.valSplit } : {}),
    ...(o.adapt ? { adapt: o.adapt } : {}),
    ...(o.workers !== undefined ? { workers: o.workers } : {}),
  };
  const trainData = await openDataset(spec, {
    ...common,
    split: "train",
    ...(o.limit ? { limit: o.limit } : {}),
  });
  // --val-split 0 on a source that holds out: train on everything, validate on nothing.
  if (o.valSplit === 0 && !o.valData && !/^synthetic/.test(spec) && isIdxSource(spec))
    return { trainData };
  const valLimit = o.valLimit ?? (o.limit ? Math.max(1, Math.ceil(o.limit / 5)) : undefined);
  const valData = await openDataset(o.valData ?? spec, {
    ...common,
    split: "val",
    ...(valLimit ? { limit: valLimit } : {}),
  });
  return { trainData, valData };
}

/**
 * Whether a source validates on a seeded part of its training examples (where --val-split
 * applies): IDX files, and packs without a `val` split of their own.
 */
export function isIdxSource(spec: string): boolean {
  const keyword = spec.toLowerCase().replace(/_/g, "-");
  if (keyword === "fashion-mnist" || /^(mnist|idx):/.test(spec)) return true;
  if (!existsSync(spec) || !statSync(spec).isDirectory()) return false;
  if (existsSync(join(spec, indexFile))) return !packHasVal(spec);
  return hasIdxFiles(spec);
}

function packHasVal(dir: string): boolean {
  try {
    const index = JSON.parse(readFileSync(join(dir, indexFile), "utf8")) as {
      splits?: Record<string, unknown>;
    };
    return index.splits?.["val"] !== undefined;
  } catch {
    return false; // opening it says what is wrong
  }
}
