import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultSettings } from "../../compiler/cli/lsp/server.js";
import {
  grammarCommand,
  grammarFile,
  layerWordsOf,
  withLayerWords,
} from "../../compiler/cli/lsp/tmGrammar.js";
import { ops } from "../../compiler/language/elaborate/ops/catalogue.js";
import * as tokens from "../../grammar/tokens.js";

const ext = join(import.meta.dirname, "..", "..", "editors", "vscode");
const pkg = JSON.parse(readFileSync(join(ext, "package.json"), "utf8")) as {
  main: string;
  scripts: Record<string, string>;
  contributes: {
    languages: { id: string; extensions: string[]; configuration: string }[];
    grammars: { language: string; scopeName: string; path: string }[];
    configuration: { properties: Record<string, { default: unknown }> };
  };
};
const grammarText = readFileSync(join(ext, pkg.contributes.grammars[0]!.path), "utf8");

/** Every `match`, `begin` and `end` pattern in the grammar. */
function patterns(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(patterns);
  if (!node || typeof node !== "object") return [];
  return Object.entries(node).flatMap(([k, v]) =>
    (k === "match" || k === "begin" || k === "end") && typeof v === "string" ? [v] : patterns(v),
  );
}

describe("the VS Code extension (editors/vscode)", () => {
  it("contributes the arch language, its configuration and its grammar", () => {
    const lang = pkg.contributes.languages.find((l) => l.id === "arch")!;
    expect(lang.extensions).toEqual([".arch"]);
    const config = JSON.parse(readFileSync(join(ext, lang.configuration), "utf8")) as {
      comments: { lineComment: string };
    };
    expect(config.comments.lineComment).toBe("#");
    expect(pkg.contributes.grammars[0]).toMatchObject({
      language: "arch",
      scopeName: "source.arch",
    });
    expect(pkg.scripts["package"]).toMatch(/vsce package/);
    expect(readdirSync(join(ext, "test")).filter((f) => f.endsWith(".test.arch")).length).toBe(2);
  });

  it("offers the server's settings with the server's defaults", () => {
    const props = pkg.contributes.configuration.properties;
    expect(props["archc.inlayHints"]!.default).toBe(defaultSettings.inlayHints);
    expect(props["archc.debounceMs"]!.default).toBe(defaultSettings.debounceMs);
    expect(props["archc.network"]!.default).toBe("");
    expect(props["archc.set"]!.default).toEqual([]);
  });

  it("highlights the op catalogue's layer words, as `npm run build` writes them", () => {
    expect(join(ext, pkg.contributes.grammars[0]!.path)).toBe(join(ext, "..", "..", grammarFile));
    expect(
      layerWordsOf(grammarText),
      `${grammarFile} lists other layer words than the op catalogue: run \`${grammarCommand}\`, which writes them, and commit the file`,
    ).toEqual([...ops.keys()]);
    expect(withLayerWords(grammarText)).toBe(grammarText);
    // A new word lands in the layer rule, and only there; a word regexes would misread is refused.
    const more = withLayerWords(grammarText, [...ops.keys(), "dummy"]);
    expect(layerWordsOf(more)).toEqual([...ops.keys(), "dummy"]);
    expect(more.replace("|dummy", "")).toBe(grammarText);
    expect(() => withLayerWords(grammarText, ["a|b"])).toThrow(/'a\|b' is no layer word/);
  });

  it("highlights every layer word and keyword the language has, with patterns that compile", () => {
    const all = patterns(JSON.parse(grammarText));
    expect(all.length).toBeGreaterThan(15);
    for (const p of all) expect(() => new RegExp(p), p).not.toThrow();
    const words = (p: string) => new Set(/\\b\(([a-z_0-9|]+)\)/.exec(p)?.[1]?.split("|") ?? []);
    const covered = new Set(all.flatMap((p) => [...words(p)]));
    for (const name of ops.keys()) expect(covered.has(name), name).toBe(true);
    // Keywords are the tokens with an identifier as their longer alternative.
    const keywords = Object.values(tokens)
      .filter((t) => typeof t === "function" || typeof t === "object")
      .filter((t) => (t as { LONGER_ALT?: unknown }).LONGER_ALT !== undefined)
      .map((t) => (t as { PATTERN: RegExp | string }).PATTERN)
      // Fixed words are string patterns (cheaper for chevrotain to build), the rest regexes.
      .map((p) => (typeof p === "string" ? p : p.source));
    expect(keywords.length).toBeGreaterThan(15);
    for (const k of keywords) {
      for (const word of k.split("|")) expect(covered.has(word), word).toBe(true);
    }
  });

  it("starts archc lsp from the workspace's install, else the PATH", () => {
    expect(existsSync(join(ext, "src", "extension.ts"))).toBe(true);
    const src = readFileSync(join(ext, "src", "extension.ts"), "utf8");
    expect(src).toContain('args: ["lsp"]');
    expect(src).toContain('configurationSection: "archc"');
  });
});
