import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { DataError, type Dataset } from "./dataset.js";
import { findIdxFiles, idxDataset } from "./idx.js";
import { imageFolderDataset } from "./imageFolder.js";
import { syntheticDataset } from "./synthetic.js";

export { DataError, type Batch, type Dataset, type EpochOptions } from "./dataset.js";
export { Random } from "./random.js";

/** Debian's package dataset-fashion-mnist puts the IDX files here. */
export const fashionMnistDir = "/usr/share/datasets/fashion-mnist";

export interface OpenOptions {
  readonly shape: readonly [number, number, number];
  readonly classes: number;
  readonly split: "train" | "val";
  readonly limit?: number;
  readonly skipCorrupt?: boolean;
  readonly seed?: number;
}

/**
 * Opens a data source by name: `synthetic` or `synthetic:N`; `fashion-mnist` (Debian's
 * package); `idx:DIR` or a folder of IDX files; or an image folder (class subfolders, or
 * `train/` and `val/` each with class subfolders; without those, every tenth image is held out).
 */
export async function openDataset(spec: string, o: OpenOptions): Promise<Dataset> {
  const seed = o.seed ?? 0;
  const synthetic = /^synthetic(?::(\d+))?$/.exec(spec);
  if (synthetic) {
    const n = Number(synthetic[1] ?? 512);
    const size = Math.min(o.limit ?? n, o.split === "train" ? n : Math.max(1, Math.ceil(n / 5)));
    return syntheticDataset({
      shape: o.shape,
      classes: o.classes,
      size,
      seed,
      offset: o.split === "train" ? 0 : 1_000_000,
    });
  }
  const name = spec.replace(/_/g, "-").toLowerCase();
  const dir =
    name === "fashion-mnist"
      ? fashionMnistDir
      : spec.startsWith("idx:") || spec.startsWith("mnist:")
        ? spec.slice(spec.indexOf(":") + 1)
        : spec;
  if (!existsSync(dir)) {
    if (name === "fashion-mnist")
      throw new DataError(
        "Fashion-MNIST is not installed; on Debian: apt-get install dataset-fashion-mnist",
        dir,
      );
    throw new DataError(
      `no such dataset or folder (try synthetic, fashion-mnist, an IDX folder or an image folder)`,
      dir,
    );
  }
  if (!statSync(dir).isDirectory()) throw new DataError("is not a folder", dir);
  const idx = findIdxFiles(dir, o.split === "train" ? "train" : "test");
  if (idx)
    return idxDataset(idx, {
      shape: o.shape,
      classes: o.classes,
      ...(o.limit ? { limit: o.limit } : {}),
      name: `${spec} (${o.split})`,
    });
  if (findIdxFiles(dir, "train"))
    throw new DataError("has IDX training files but no t10k-* files to validate on", dir);
  const common = {
    shape: o.shape,
    classes: o.classes,
    ...(o.limit ? { limit: o.limit } : {}),
    ...(o.skipCorrupt ? { skipCorrupt: true } : {}),
  };
  const splitDir = join(dir, o.split);
  if (existsSync(join(dir, "train")) && existsSync(join(dir, "val")))
    return imageFolderDataset(splitDir, common);
  // A deterministic holdout: every tenth image validates, the rest train.
  return imageFolderDataset(dir, {
    ...common,
    keep: (i) => (o.split === "val") === (i % 10 === 9),
  });
}
