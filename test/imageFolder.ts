import { mkdirSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";

/** What an image folder written by writeImageFolder holds. */
export interface ImageFolderShape {
  classes: number;
  perClass: number;
  /** Image i's width and height (the same for every class). */
  size: (i: number) => readonly [number, number];
  /** Byte j (RGB, row by row) of class cls's image i, w wide. */
  pixel: (j: number, i: number, cls: number, w: number) => number;
  /** Whether image i is a JPEG (the rest are PNGs); none where left out. */
  jpeg?: (i: number) => boolean;
  /** The JPEGs' quality; sharp's default where left out. */
  quality?: number;
}

/**
 * An image folder (a folder per class, c0, c1, …, holding 0.png, 1.jpg, …) of made-up pictures:
 * the data set the loader, pack and augmentation tests read, each with its own sizes and pixels,
 * written by one loop rather than a copy of it in each test file. Returns dir.
 */
export async function writeImageFolder(dir: string, shape: ImageFolderShape): Promise<string> {
  for (let cls = 0; cls < shape.classes; cls++) {
    mkdirSync(join(dir, `c${cls}`), { recursive: true });
    for (let i = 0; i < shape.perClass; i++) {
      const [w, h] = shape.size(i);
      const px = Buffer.alloc(w * h * 3).map((_, j) => shape.pixel(j, i, cls, w));
      const img = sharp(px, { raw: { width: w, height: h, channels: 3 } });
      const jpeg = shape.jpeg?.(i) ?? false;
      await (
        jpeg ? img.jpeg(shape.quality === undefined ? {} : { quality: shape.quality }) : img.png()
      ).toFile(join(dir, `c${cls}`, `${i}.${jpeg ? "jpg" : "png"}`));
    }
  }
  return dir;
}
