import { describe, expect, it } from "vitest";
import { createLexer } from "../../grammar/lexer.js";
import { ArchParser } from "../../grammar/parser.js";

// The CLI skips chevrotain's grammar validations to start fast; here they run in full.
describe("grammar validations", () => {
  it("the token definitions pass chevrotain's lexer validations", () => {
    expect(createLexer(false).lexerDefinitionErrors).toEqual([]);
  });

  it("the grammar passes chevrotain's parser validations (ambiguities, left recursion)", () => {
    expect(() => new ArchParser(false)).not.toThrow();
  });
});
