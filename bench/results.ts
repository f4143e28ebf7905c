/**
 * A bench's results file: one JSON object a line, appended as each row finishes, so an hour of
 * Xception rows survives a crash, a timeout or a Ctrl-C of what comes after. Each append is one
 * write and an fsync; a line cut short (the process killed in the middle of a write) is skipped
 * when the file is read back, and the next append starts on a line of its own.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";

export function appendResult(path: string, row: object): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, "a+");
  try {
    // A truncated last line must not swallow this one.
    const size = fstatSync(fd).size;
    const last = Buffer.alloc(1);
    if (size > 0) readSync(fd, last, 0, 1, size - 1);
    const gap = size > 0 && last[0] !== 0x0a ? "\n" : "";
    writeSync(fd, `${gap}${JSON.stringify(row)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The rows of a results file, and how many of its lines were not whole JSON objects. */
export function readResults<T = Record<string, unknown>>(
  path: string,
): { rows: T[]; skipped: number } {
  if (!existsSync(path)) return { rows: [], skipped: 0 };
  const rows: T[] = [];
  let skipped = 0;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      const row = JSON.parse(line) as unknown;
      if (row && typeof row === "object" && !Array.isArray(row)) rows.push(row as T);
      else skipped++;
    } catch {
      skipped++;
    }
  }
  return { rows, skipped };
}
