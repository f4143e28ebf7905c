import { describe, expect, it } from "vitest";
import * as layers from "../../../compiler/layers.js";
import { Builder } from "../../../compiler/backends/ts/runtime/builder.js";
import { archcClasses } from "../../../compiler/backends/ts/flat.js";
import { ops } from "../../../compiler/language/elaborate/ops/catalogue.js";
import { isActivation } from "../../../compiler/language/ir/activations.js";

/**
 * What generated TypeScript calls exists, for every layer word and layer kind: these are JavaScript
 * names, found by no type checker until a module that uses them is generated and compiled.
 */
describe("generated TypeScript's runtime covers every layer word and archc layer", () => {
  it("structured code's Builder has a method for each layer word (activations share one)", () => {
    const methods = Builder.prototype as unknown as Record<string, unknown>;
    const missing = [...ops.keys()].filter(
      (word) => !isActivation(word) && typeof methods[word] !== "function",
    );
    expect(missing).toEqual([]);
    expect(typeof methods["activation"]).toBe("function");
  });

  it("archc/layers exports every class --flat code imports", () => {
    const exported = layers as Record<string, unknown>;
    expect(archcClasses.length).toBeGreaterThan(5);
    expect(archcClasses.filter((c) => typeof exported[c] !== "function")).toEqual([]);
  });
});
