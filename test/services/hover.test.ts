import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { MarkupContent } from "vscode-languageserver-types";
import { analyse } from "../../compiler/services/analysis.js";
import { hover } from "../../compiler/services/hover.js";

/**
 * Blocks named like instances (`stage_1`, `stage_2`), one block called with different arguments,
 * and a block whose first layer comes from a nested call: a hover names each run by the block
 * call the IR records, which the layer names alone cannot tell apart.
 */
const text = `block stage(filters, parts = regular) {
  conv 3x3 filters parts=parts -> relu
}
block stage_1(filters) {
  conv 1x1 filters
}
block stage_2(filters) {
  stage(filters, parts = 2) -> maxpool 2x2
}
block outer(filters) {
  stage_2(filters)
}
network stages() {
  input 8x8x8
  stage(8)
  stage(16, parts = 4)
  stage_1(8)
  outer(16)
  outer(32)
  gap
}
`;

/** The hover at `needle`'s first occurrence, `offset` characters in. */
function hoverAt(needle: string, offset = 0): string {
  const a = analyse("/virtual/stages.arch", 1, text, (p) => readFileSync(p, "utf8"));
  const i = text.indexOf(needle) + offset;
  const before = text.slice(0, i);
  const line = before.split("\n").length - 1;
  const character = i - before.lastIndexOf("\n") - 1;
  const h = hover(a, { line, character });
  return h ? (h.contents as MarkupContent).value : "";
}

describe("hovers name block runs from the IR's block calls", () => {
  it("a layer in a block called with different arguments lists each instance", () => {
    const h = hoverAt("conv 3x3 filters");
    expect(h).toContain("built 4 times");
    for (const name of [
      "stage/conv",
      "stage_1/conv",
      "outer/stage_2/stage/conv",
      "outer_1/stage_2/stage/conv",
    ])
      expect(h).toContain(`- \`${name} (conv 3x3)\``);
  });

  it("a block call run with different arguments says each run's call", () => {
    const h = hoverAt("stage(filters, parts = 2)");
    expect(h).toContain("- `outer/stage_2/stage = stage(filters = 16, parts = 2)`");
    expect(h).toContain("- `outer_1/stage_2/stage = stage(filters = 32, parts = 2)`");
  });

  it("a call whose block starts with a nested call is named by its own instance, not the nested one", () => {
    const h = hoverAt("{\n  stage_2(filters)", 4);
    expect(h).toContain("- `outer/stage_2 = stage_2(filters = 16)`");
    expect(h).toContain("- `outer_1/stage_2 = stage_2(filters = 32)`");
  });
});
