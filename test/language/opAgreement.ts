import { readFileSync } from "node:fs";
import { join } from "node:path";

const repo = join(import.meta.dirname, "..", "..");

/** The "## Layers" section of docs/LANGUAGE.md: the layer catalogue and each layer's section. */
export function layersSection(text = readFileSync(join(repo, "docs", "LANGUAGE.md"), "utf8")) {
  const start = text.indexOf("\n## Layers\n");
  const end = text.indexOf("\n## ", start + 1);
  return text.slice(start, end === -1 ? undefined : end);
}

/** The layer words docs/LANGUAGE.md's "Layers" section never writes as `word`. */
export function undocumentedWords(words: Iterable<string>, section = layersSection()): string[] {
  return [...words].filter((w) => !section.includes(`\`${w}\``));
}
