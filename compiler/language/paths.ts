import { existsSync } from "node:fs";
import { dirname, join, relative, isAbsolute } from "node:path";
import { fileURLToPath } from "node:url";

/** The package root, found from this file whether it runs from source or from dist/. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "stdlib"))) return dir;
    dir = dirname(dir);
  }
  throw new Error("archc: cannot find its own stdlib/ folder");
}

export const packageRoot = findRoot();
export const stdlibDir = join(packageRoot, "stdlib");

/** Paths in messages are relative to where the user stands, when that is shorter. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}
