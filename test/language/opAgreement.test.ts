import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { activations } from "../../compiler/language/ir/activationNames.js";
import { optional, value, type AttrsSchema } from "../../compiler/language/ir/attrsSchema.js";
import type { PoolAttrs } from "../../compiler/language/ir/types.js";
import { irSchema } from "../../compiler/language/ir/validate.js";
import { opNames, ops } from "../../compiler/language/elaborate/ops/catalogue.js";
import { undocumentedWords } from "./opAgreement.js";

interface Rule {
  readonly if: { readonly properties: { readonly op: { readonly const: string } } };
  readonly then: { readonly properties: { readonly attrs: object } };
}
const schema = irSchema as {
  definitions: {
    activation: { enum: readonly string[] };
    node: { properties: { op: { enum: readonly string[] } }; allOf: readonly Rule[] };
  };
};

describe("what is said about the ops outside TypeScript agrees with the IR's types", () => {
  it("the IR schema lists every op and activation, and one attrs rule per op, from the definitions", () => {
    expect(schema.definitions.node.properties.op.enum).toEqual(opNames);
    expect(schema.definitions.activation.enum).toEqual(activations);
    expect(schema.definitions.node.allOf.map((r) => r.if.properties.op.const)).toEqual(opNames);
    expect(() => new Ajv({ strict: true }).compile(irSchema)).not.toThrow();
  });

  it("an op's attrs schema must give each attribute a schema of its own type", () => {
    const pool: AttrsSchema<PoolAttrs> = {
      pool: value.pair,
      strides: value.pair,
      padding: value.padding,
      pads: optional(value.pads),
      ceil: optional(value.true),
    };
    // @ts-expect-error padding is 'same' | 'valid', not any string
    const wrongType: AttrsSchema<PoolAttrs> = { ...pool, padding: value.oneOf("same") };
    // @ts-expect-error an optional attribute must be marked optional, so it is not required
    const notOptional: AttrsSchema<PoolAttrs> = { ...pool, pads: value.pads };
    // @ts-expect-error every attribute needs its schema
    const missing: AttrsSchema<PoolAttrs> = { pool: value.pair, strides: value.pair };
    expect([wrongType, notOptional, missing]).toHaveLength(3);
  });

  it("docs/LANGUAGE.md's Layers section writes every layer word", () => {
    expect(undocumentedWords(ops.keys())).toEqual([]);
    expect(undocumentedWords(["dummy"])).toEqual(["dummy"]);
  });
});
