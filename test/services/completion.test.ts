import { describe, expect, it } from "vitest";
import { complete } from "../../compiler/services/completion.js";

describe("completion of defaults", () => {
  it("offers the statement among the layers, and the layer's attributes inside it", () => {
    const statement = complete(undefined, "network n() {\n  \n}\n", { line: 1, character: 2 });
    const item = statement.find((c) => c.label === "defaults")!;
    expect(item.insertText).toBe("defaults ${1:bn}($0)");
    const text = "network n() {\n  defaults bn(eps\n}\n";
    const attrs = complete(undefined, text, { line: 1, character: "  defaults bn(".length });
    expect(attrs.map((c) => c.label)).toEqual(
      expect.arrayContaining(["epsilon", "momentum", "scale", "center"]),
    );
  });
});
