import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ops } from "../../language/elaborate/ops/catalogue.js";
import { atomicWrite } from "../../util/files.js";

/**
 * The VS Code extension's TextMate grammar highlights the layer words the op catalogue defines:
 * `npm run build` writes them into the committed file (scripts/build.mjs, `writeGrammar`), so a
 * new word needs no hand edit, and test/editors/vscode.test.ts fails while the committed file
 * lists other words. The rest of the grammar is written by hand.
 */

/** The grammar, relative to the repository's root. */
export const grammarFile = "editors/vscode/syntaxes/arch.tmLanguage.json";

/** The command that writes the grammar's layer words, for messages. */
export const grammarCommand = "npm run build";

// The layer rule as JSON writes it: "match": "\\b(input|conv|...)\\b", then its scope name.
const layerRule =
  /("match": "\\\\b\()([^)"]*)(\)\\\\b",\s*"name": "support\.function\.layer\.arch")/;

/** `text`, the grammar, with `words` as its layer words, in the catalogue's order. */
export function withLayerWords(text: string, words: readonly string[] = [...ops.keys()]): string {
  for (const w of words) {
    // A word is an identifier of the language: nothing in it is special in a regex or JSON.
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(w)) throw new Error(`'${w}' is no layer word`);
  }
  if (!layerRule.test(text))
    throw new Error(`${grammarFile} has no "support.function.layer.arch" rule to write words into`);
  return text.replace(layerRule, (_, open: string, _old: string, close: string) => {
    return `${open}${words.join("|")}${close}`;
  });
}

/** The layer words the grammar at `text` highlights. */
export function layerWordsOf(text: string): string[] {
  return layerRule.exec(text)?.[2]?.split("|") ?? [];
}

/**
 * Writes the catalogue's layer words into the grammar under repository root `root`, if it is
 * there (a packed archc has no editors/) and they differ; true when it wrote.
 */
export function writeGrammar(root: string): boolean {
  const path = join(root, grammarFile);
  if (!existsSync(path)) return false;
  const text = readFileSync(path, "utf8");
  const next = withLayerWords(text);
  if (next === text) return false;
  atomicWrite(path, next);
  return true;
}
