import { existsSync, statSync } from "node:fs";
import type { IRGraph } from "../../../language/ir/types.js";
import { checkLimit, DataError, type Dataset } from "./dataset.js";
import { findIdxFiles, hasIdxFiles, openIdxDirectory } from "./idx.js";
import { openImageFolder } from "./imageFolder.js";
import { syntheticDataset } from "./synthetic.js";

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
  readonly split: "train" | "val";
  readonly limit?: number;
  readonly skipCorrupt?: boolean;
  /** Generates synthetic data (image orders take their seed per epoch from the loop). */
  readonly seed?: number;
}

/**
 * Opens a data source by name:
 * - `synthetic` or `synthetic:N`: N generated examples (default 512), validation N/5 others;
 * - `fashion-mnist`: Debian's dataset-fashion-mnist (train-* to train, t10k-* to validate);
 * - `mnist:DIR` or `idx:DIR`, or a folder holding IDX files: the same for any MNIST-like set;
 * - any other folder: an image folder (class folders, or train/ and val/ with class folders;
 *   without those a tenth of each class is held out to validate).
 * IDX images (28x28x1) are resized per batch to the network's h x w and tiled to 3 channels
 * where the network wants RGB. A folder named like a keyword is reached as ./synthetic.
 */
export async function openDataset(spec: string, o: OpenOptions): Promise<Dataset> {
  checkLimit(o.limit);
  const synthetic = /^synthetic(?::(.*))?$/.exec(spec);
  if (synthetic) {
    const count = synthetic[1];
    const n = count === undefined ? defaultSyntheticSize : Number(count);
    if (!Number.isInteger(n) || n < 1)
      throw new DataError(`${spec}: synthetic:N needs N, a positive whole number of examples`);
    const wanted = o.split === "train" ? n : Math.ceil(n / 5);
    return syntheticDataset({
      shape: o.shape,
      classes: o.classes ?? 10,
      size: Math.min(o.limit ?? wanted, wanted),
      seed: o.seed ?? 0,
      stream: o.split === "train" ? 0 : 1,
    });
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
  if (keyword === "fashion-mnist" || prefixed || hasIdxFiles(dir)) {
    const idxSplit = o.split === "train" ? "train" : "test";
    const f = findIdxFiles(dir, idxSplit);
    if (o.split === "val" && !f.images && !f.labels)
      throw new DataError(
        "has IDX training files but no t10k-* files to validate on; give another source " +
          "for validation",
        dir,
      );
    return openIdxDirectory(dir, idxSplit, { ...common, name: `${spec} (${o.split})` });
  }
  return openImageFolder(dir, o.split, {
    ...common,
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
): Promise<{ trainData: Dataset; valData: Dataset }> {
  const shape = graph.input as [number, number, number];
  const classes = graph.nodes[graph.output]!.shape[0]!;
  const common = { shape, classes, seed: o.seed, ...(o.skipCorrupt ? { skipCorrupt: true } : {}) };
  const trainData = await openDataset(spec, {
    ...common,
    split: "train",
    ...(o.limit ? { limit: o.limit } : {}),
  });
  const valLimit = o.valLimit ?? (o.limit ? Math.max(1, Math.ceil(o.limit / 5)) : undefined);
  const valData = await openDataset(o.valData ?? spec, {
    ...common,
    split: "val",
    ...(valLimit ? { limit: valLimit } : {}),
  });
  return { trainData, valData };
}
