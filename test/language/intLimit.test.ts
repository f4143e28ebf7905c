import { describe, expect, it } from "vitest";
import { buildText } from "../helpers.js";

const net = (layer: string) => `network n() {\n  input 8x8x8\n  ${layer}\n}\n`;

describe("integer arguments beyond 2147483647", () => {
  // Written in digits they were taken (99999999999999999999999999999 silently as 1e29), while
  // the same value written as 1e10 was refused.
  it.each([
    ["gap -> dense 3000000000", "3000000000"],
    ["gap -> dense 99999999999999999999999999999", "99999999999999999999999999999 (1e+29)"],
    ["gap -> dense 99999 * 99999 * 99999", "999970000299999"],
    ["conv 3000000000x3 8", "3000000000"],
  ])("%s is refused with E0303 naming the value", (layer, shown) => {
    const r = buildText(net(layer));
    expect(r.graph).toBeUndefined();
    const d = r.diagnostics[0]!;
    expect(d.code).toBe("E0303");
    expect(d.message).toContain(
      `${shown} is too large for an integer argument (at most 2147483647)`,
    );
    expect(d.span.start.line).toBe(3);
  });

  it("2147483647 itself is allowed", () => {
    expect(buildText(net("gap -> dense 2147483647")).diagnostics).toEqual([]);
  });
});
