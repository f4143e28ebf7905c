import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/**
 * A fresh folder under the system's temporary one, removed when the test file's tests are done:
 * the set-up most test files that write files began with, spelt out each time.
 */
export function tempRoot(prefix: string): string {
  const root = mkdtempSync(join(tmpdir(), `archc-${prefix}-`));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  return root;
}
