import { describe, expect, it } from "vitest";
import * as layers from "../../../compiler/layers.js";
import {
  Builder,
  SpecError,
  type LayerWord,
} from "../../../compiler/backends/ts/runtime/builder.js";
import { archcClasses } from "../../../compiler/backends/ts/flat.js";
import { ops } from "../../../compiler/language/elaborate/ops/catalogue.js";

/**
 * What generated TypeScript calls exists, for every layer word and layer kind. Structured code
 * calls one generic entry, `s.layer(word, x, options)`, whose options the op catalogue types
 * (runtime/options.ts), so a new word needs no Builder edit; --flat code imports classes by name,
 * which no type checker sees until a module that uses them is generated and compiled.
 */
describe("generated TypeScript's runtime covers every layer word and archc layer", () => {
  it("structured code's Builder.layer takes every layer word to its op's lowering", () => {
    let built = 0;
    for (const word of ops.keys()) {
      if (word === "input") continue;
      const s = Builder.network("n");
      const x = s.input([8, 8, 4]);
      // With no options a word either makes its layer or fails as the compiler does for the
      // statement written bare (`dense`: E0302 missing units), never inside the runtime.
      try {
        expect(s.layer(word as LayerWord, x).shape.length, word).toBeGreaterThan(0);
        built++;
      } catch (e) {
        expect(e, word).toBeInstanceOf(SpecError);
      }
    }
    expect(built).toBeGreaterThan(20);
  });

  it("types each word's options from the catalogue, and refuses what is not a word", () => {
    const s = Builder.network("n");
    const x = s.input([8, 8, 4]);
    expect(s.layer("conv", x, { kernel: 3, filters: 8, parts: "depthwise" }).shape).toEqual([
      null,
      8,
      8,
      8,
    ]);
    expect(s.layer("relu", x, { name: "r" }).shape).toEqual([null, 8, 8, 4]);
    // @ts-expect-error: conv has no option `filterz` (the type checker names it for generated code)
    expect(() => s.layer("conv", x, { kernel: 3, filterz: 8 })).toThrow(SpecError);
    // @ts-expect-error: units is a number
    expect(() => s.layer("dense", x, { units: "ten" })).toThrow(SpecError);
    // @ts-expect-error: input starts the network (s.input), it is no layer on a tensor
    expect(() => s.layer("input", x, { shape: [8, 8, 4] })).toThrow(/s\.input\(shape\)/);
    // @ts-expect-error: no such word
    expect(() => s.layer("nope", x)).toThrow(/'nope' is not a layer word of archc: input, /);
  });

  it("archc/layers exports every class --flat code imports", () => {
    const exported = layers as Record<string, unknown>;
    expect(archcClasses.length).toBeGreaterThan(5);
    expect(archcClasses.filter((c) => typeof exported[c] !== "function")).toEqual([]);
  });
});
