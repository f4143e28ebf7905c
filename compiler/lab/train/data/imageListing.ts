import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { DataError } from "./dataset.js";

// Listing an image folder needs no decoding: lab/data/sources.ts reads it from here, apart from
// imageFolder.ts, which imports the decode pool (that path back to sources.ts was an import cycle).

/**
 * Files listed as images. Which format a file is, is read from its first bytes, not its name,
 * so a PNG saved as .jpg decodes; other files (README, .DS_Store, labels.csv) are ignored.
 */
const imageName = /\.(jpe?g|jpe|jfif|png)$/i;

export interface ImageItem {
  readonly path: string;
  readonly label: number;
}

export interface ImageListing {
  /** Sorted class folder names; a class's label is its index here. */
  readonly classNames: string[];
  /** Sorted by class, then by path within the class. */
  readonly items: ImageItem[];
}

export function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory(); // statSync follows links, so linked class folders count
  } catch {
    return false;
  }
}

function readDir(path: string): string[] {
  try {
    // Code-unit order, as Python's sorted(): labels do not depend on the machine's locale.
    return readdirSync(path)
      .filter((e) => !e.startsWith("."))
      .sort();
  } catch (e) {
    throw new DataError(`cannot read the folder (${(e as NodeJS.ErrnoException).code ?? e})`, path);
  }
}

/** Image files under `dir`, nested folders included, in sorted order. */
function walk(dir: string, out: string[]): string[] {
  for (const e of readDir(dir)) {
    const p = join(dir, e);
    if (isDir(p)) walk(p, out);
    else if (imageName.test(e)) out.push(p);
  }
  return out;
}

/** One subfolder per class, sorted by name; every class must hold at least one image. */
export function listImageFolder(root: string): ImageListing {
  if (!existsSync(root)) throw new DataError("no such folder", root);
  if (!isDir(root)) throw new DataError("is not a folder", root);
  const classNames = readDir(root).filter((e) => isDir(join(root, e)));
  if (classNames.length === 0)
    throw new DataError("has no class folders (expected one folder of images per class)", root);
  const items: ImageItem[] = [];
  classNames.forEach((cls, label) => {
    const files = walk(join(root, cls), []);
    if (files.length === 0)
      throw new DataError(
        "holds no .jpg, .jpeg or .png files; every class folder needs at least one image",
        join(root, cls),
      );
    for (const path of files) items.push({ path, label });
  });
  return { classNames, items };
}
