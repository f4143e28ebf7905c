import { describe, expect, it } from "vitest";
import { activations } from "../../compiler/language/ir/activationNames.js";
import { opNames, ops } from "../../compiler/language/elaborate/ops/catalogue.js";
import { schemaDisagreements, undocumentedWords } from "./opAgreement.js";

describe("what is written about the ops outside TypeScript agrees with the IR's types", () => {
  it("schema.json's op and activation enums and its per-op attrs rules match the IR's", () => {
    expect(schemaDisagreements(opNames, activations)).toEqual([]);
  });

  it("the check names the schema when an op or activation is new, or gone", () => {
    expect(schemaDisagreements([...opNames, "dummy"], activations)).toEqual([
      "schema.json: the node's op enum lacks 'dummy'",
      "schema.json: 0 rules say what the attrs of 'dummy' are, not 1",
    ]);
    expect(
      schemaDisagreements(
        opNames.filter((o) => o !== "split"),
        ["relu"],
      ),
    ).toContain("schema.json: the node's op enum has 'split', which the IR has not");
    expect(schemaDisagreements(opNames, [...activations, "mish"])).toEqual([
      "schema.json: the activation enum lacks 'mish'",
    ]);
  });

  it("docs/LANGUAGE.md's Layers section writes every layer word", () => {
    expect(undocumentedWords(ops.keys())).toEqual([]);
    expect(undocumentedWords(["dummy"])).toEqual(["dummy"]);
  });
});
