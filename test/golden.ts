import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { expect } from "vitest";

/**
 * Compares text with a golden file. `UPDATE_GOLDEN=1 npm test` rewrites the files; review the
 * diff before committing. A missing golden file is a failure, never a silent pass.
 */
export function expectGolden(path: string, actual: string): void {
  if (process.env["UPDATE_GOLDEN"]) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path))
    throw new Error(`golden file ${path} is missing; run UPDATE_GOLDEN=1 npm test`);
  expect(actual).toBe(readFileSync(path, "utf8"));
}
