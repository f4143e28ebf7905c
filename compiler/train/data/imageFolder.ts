import * as tf from "@tensorflow/tfjs";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { DataError, type Batch, type Dataset, type EpochOptions } from "./dataset.js";
import { epochOrder } from "./random.js";

const imageExt = /\.(jpe?g|png)$/i;

interface Item {
  readonly path: string;
  readonly label: number;
}

export interface FolderOptions {
  readonly shape: readonly [number, number, number];
  readonly classes: number;
  readonly limit?: number;
  readonly skipCorrupt?: boolean;
  /** Keep every example whose index in the sorted listing passes this (for a holdout split). */
  readonly keep?: (index: number) => boolean;
}

/** One subfolder per class, sorted by name; every class must hold at least one image. */
export function listImageFolder(root: string): { classes: string[]; items: Item[] } {
  let entries: string[];
  try {
    entries = readdirSync(root).sort();
  } catch {
    throw new DataError("cannot read the folder", root);
  }
  const classes = entries.filter((e) => statSync(join(root, e)).isDirectory());
  if (classes.length === 0)
    throw new DataError("has no class subfolders (expected one folder of images per class)", root);
  const items: Item[] = [];
  classes.forEach((cls, label) => {
    const files = readdirSync(join(root, cls))
      .filter((f) => imageExt.test(f))
      .sort();
    if (files.length === 0)
      throw new DataError(
        "holds no JPEG or PNG images; every class needs at least one",
        join(root, cls),
      );
    for (const f of files) items.push({ path: join(root, cls, f), label });
  });
  return { classes, items };
}

/**
 * Images streamed from disk: the listing is read up front, pixels are decoded (sharp) and
 * resized to the network's input batch by batch, so memory holds one batch at a time.
 */
export function imageFolderDataset(root: string, o: FolderOptions): Dataset {
  const { classes, items: all } = listImageFolder(root);
  if (classes.length > o.classes) {
    throw new DataError(
      `has ${classes.length} classes, but the network has ${o.classes} outputs`,
      root,
    );
  }
  const items = all.filter((_, i) => (o.keep ? o.keep(i) : true)).slice(0, o.limit ?? all.length);
  const [h, w, c] = o.shape;
  const skipped: { path: string; reason: string }[] = [];
  const decode = async (item: Item): Promise<Float32Array | undefined> => {
    try {
      const img = sharp(item.path).resize(w, h, { fit: "fill" }).removeAlpha();
      const raw = await (c === 1 ? img.grayscale() : img.toColourspace("srgb"))
        .raw()
        .toBuffer({ resolveWithObject: true });
      if (raw.info.channels !== c) throw new Error(`decoded to ${raw.info.channels} channels`);
      return Float32Array.from(raw.data, (v) => v / 255);
    } catch (e) {
      const reason = e instanceof Error ? e.message.split("\n")[0]! : String(e);
      if (!o.skipCorrupt)
        throw new DataError(
          `cannot be decoded as an image (${reason}); pass --skip-corrupt to skip such files`,
          item.path,
        );
      if (!skipped.some((s) => s.path === item.path)) skipped.push({ path: item.path, reason });
      return undefined;
    }
  };
  return {
    name: root,
    size: items.length,
    classes: o.classes,
    shape: o.shape,
    skipped,
    async *batches(batchSize: number, e: EpochOptions): AsyncIterable<Batch> {
      const order = epochOrder(items.length, e.seed, e.epoch, e.shuffle);
      for (let i = 0; i < items.length; i += batchSize) {
        const chunk = order.slice(i, i + batchSize).map((k) => items[k]!);
        const decoded = await Promise.all(chunk.map(decode));
        const ok = chunk
          .map((item, j) => ({ item, px: decoded[j] }))
          .filter((d): d is { item: Item; px: Float32Array } => d.px !== undefined);
        if (ok.length === 0) continue;
        const x = new Float32Array(ok.length * h * w * c);
        ok.forEach((d, j) => x.set(d.px, j * h * w * c));
        yield tf.tidy(() => ({
          x: tf.tensor4d(x, [ok.length, h, w, c]),
          y: tf
            .oneHot(
              tf.tensor1d(
                ok.map((d) => d.item.label),
                "int32",
              ),
              o.classes,
            )
            .toFloat() as tf.Tensor2D,
        }));
      }
    },
  };
}
