import { createToken, Lexer, type TokenType } from "chevrotain";
import { describe, expect, it } from "vitest";
import { allTokens } from "../../grammar/tokens.js";

interface Analysed {
  charCodeToPatternIdxToConfig: { defaultMode: unknown[] };
  patternIdxToConfig: { defaultMode: { canLineTerminator: boolean }[] };
}

/** What chevrotain itself finds for a pattern when not told: its first characters and line breaks. */
function analyse(pattern: RegExp): { starts: Set<number>; lineBreaks: boolean } {
  const bare = createToken({ name: "Bare", pattern });
  const lexer = new Lexer([bare], {
    ensureOptimizations: true,
    positionTracking: "full",
    skipValidations: true,
  }) as unknown as Analysed;
  const starts = new Set<number>();
  lexer.charCodeToPatternIdxToConfig.defaultMode.forEach((c, code) => c && starts.add(code));
  return { starts, lineBreaks: lexer.patternIdxToConfig.defaultMode[0]!.canLineTerminator };
}

// Lexer.NA marks a category (BinaryOperator), which matches nothing itself.
const regexTokens = allTokens.filter(
  (t): t is TokenType & { PATTERN: RegExp } =>
    (t.PATTERN as unknown) instanceof RegExp && t.PATTERN !== Lexer.NA,
);

// The lexer trusts start_chars_hint and line_breaks instead of analysing each pattern at start-up
// (grammar/tokens.ts): a hint that left out a character would make it skip that token there.
describe("token hints", () => {
  it("every regular-expression token has them", () => {
    for (const t of regexTokens) {
      expect(t.START_CHARS_HINT, t.name).toBeDefined();
      expect(t.LINE_BREAKS, t.name).toBeDefined();
    }
  });
  for (const t of regexTokens)
    it(`${t.name}: the characters it starts with and its line breaks are the pattern's`, () => {
      const found = analyse(t.PATTERN);
      const hinted = new Set(
        (t.START_CHARS_HINT ?? []).map((c) => (typeof c === "string" ? c.charCodeAt(0) : c)),
      );
      expect([...hinted].sort((a, b) => a - b)).toEqual([...found.starts].sort((a, b) => a - b));
      expect(t.LINE_BREAKS).toBe(found.lineBreaks);
    });
});
