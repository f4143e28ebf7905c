import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { serializeGrammar, type CstElement, type CstNode, type IToken } from "chevrotain";
import { describe, expect, it } from "vitest";
import { analyseGrammar, readAnalysis, type GrammarAnalysis } from "../../grammar/analysis.js";
import { lex } from "../../grammar/lexer.js";
import { ArchParser, analyseArchGrammar } from "../../grammar/parser.js";
import * as T from "../../grammar/tokens.js";
import { packageRoot } from "../../compiler/language/paths.js";

// The CLI's parser reads its grammar's analysis (computed when the bundle is built) instead of
// having chevrotain compute it on every start. Here a parser reading an analysis must be the
// parser chevrotain analyses itself: the same grammar, follow sets and lookahead, and the same
// trees and errors on every spec, and on broken ones, where recovery uses the follow sets.
const analysis = analyseArchGrammar();
const own = new ArchParser(true, null);
const reading = new ArchParser(true, analysis);

/** A tree as text: rule names, token images and offsets, recovered nodes. */
function shape(node: CstNode): unknown {
  const children: Record<string, unknown[]> = {};
  for (const [key, items] of Object.entries(node.children))
    children[key] = (items as CstElement[]).map((c) =>
      "children" in c ? shape(c) : `${(c as IToken).image}@${(c as IToken).startOffset}`,
    );
  return { name: node.name, recovered: node.recoveredNode ?? false, children };
}

function parseWith(parser: ArchParser, text: string) {
  parser.input = lex("x.arch", text).tokens;
  const cst = parser.program();
  return {
    cst: shape(cst),
    errors: parser.errors.map((e) => `${e.name}: ${e.message} @${e.token.startOffset}`),
  };
}

const sources = [
  ...readdirSync(join(packageRoot, "specs")).map((f) => join(packageRoot, "specs", f)),
  ...readdirSync(join(packageRoot, "stdlib")).map((f) => join(packageRoot, "stdlib", f)),
]
  .filter((f) => f.endsWith(".arch"))
  .map((f) => readFileSync(f, "utf8"));

/** Deterministic damage: drop, repeat or swap tokens of a valid spec. */
function damaged(text: string, seed: number): string[] {
  const tokens = lex("x.arch", text).tokens.map((t) => t.image);
  let s = seed;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) % tokens.length;
  const out: string[] = [];
  for (let k = 0; k < 12; k++) {
    const t = [...tokens];
    const i = next();
    const j = next();
    if (k % 3 === 0) t.splice(i, 1);
    else if (k % 3 === 1) t.splice(i, 0, t[j]!);
    else [t[i], t[j]] = [t[j]!, t[i]!];
    out.push(t.join(" "));
  }
  return out;
}

describe("the grammar's analysis, read instead of computed", () => {
  it("is JSON, and the parser reading it analyses to the same grammar, follows and lookahead", () => {
    expect(JSON.parse(JSON.stringify(analysis))).toEqual(analysis);
    expect(analyseGrammar(reading, 1)).toEqual(analysis);
    expect(serializeGrammar(Object.values(reading.getGAstProductions()))).toEqual(
      serializeGrammar(Object.values(own.getGAstProductions())),
    );
  });

  it("parses every spec and standard module to the same tree", () => {
    for (const text of sources) {
      const a = parseWith(own, text);
      expect(a.errors).toEqual([]);
      expect(parseWith(reading, text)).toEqual(a);
    }
  });

  it("recovers from broken input exactly as chevrotain's own analysis does", () => {
    let broken = 0;
    sources.forEach((text, n) => {
      for (const bad of damaged(text, n + 1)) {
        const a = parseWith(own, bad);
        if (a.errors.length) broken++;
        expect(parseWith(reading, bad)).toEqual(a);
      }
    });
    expect(broken).toBeGreaterThan(50);
  });

  it("is not read where it cannot be this grammar's: the parser analyses itself", () => {
    const other: GrammarAnalysis = { ...analysis, chevrotain: "0.0.0" };
    expect(readAnalysis(other, T.allTokens, 1)).toBeUndefined();
    expect(readAnalysis(analysis, T.allTokens, 2)).toBeUndefined();
    const renamed = JSON.parse(JSON.stringify(analysis).replaceAll('"Identifier"', '"Name"'));
    expect(readAnalysis(renamed, T.allTokens, 1)).toBeUndefined();
    // Rules the parser does not have: it records its own grammar and computes its lookahead.
    const fewer: GrammarAnalysis = { ...analysis, rules: analysis.rules.slice(1) };
    const p = new ArchParser(true, fewer);
    expect(analyseGrammar(p, 1)).toEqual(analysis);
    expect(parseWith(p, sources[0]!)).toEqual(parseWith(own, sources[0]!));
  });
});
