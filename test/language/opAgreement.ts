import { readFileSync } from "node:fs";
import { join } from "node:path";
import { irSchema } from "../../compiler/language/ir/validate.js";

const repo = join(import.meta.dirname, "..", "..");

interface Rule {
  readonly if: { readonly properties: { readonly op: { const?: string; enum?: string[] } } };
}
interface IrSchema {
  readonly definitions: {
    readonly activation: { readonly enum: readonly string[] };
    readonly node: {
      readonly properties: { readonly op: { readonly enum: readonly string[] } };
      readonly allOf: readonly Rule[];
    };
  };
}

/**
 * Where compiler/language/ir/schema.json disagrees with the IR's types: an op or activation its
 * enums lack or have too many of, an op whose attributes no rule (or more than one) describes.
 * The schema is JSON shipped for other tools, so this check stands in for the compiler there.
 */
export function schemaDisagreements(
  opNames: readonly string[],
  activations: readonly string[],
  schema: object = irSchema,
): string[] {
  const s = schema as IrSchema;
  const out: string[] = [];
  const compare = (what: string, inSchema: readonly string[], inTypes: readonly string[]) => {
    for (const x of inTypes)
      if (!inSchema.includes(x)) out.push(`schema.json: ${what} lacks '${x}'`);
    for (const x of inSchema)
      if (!inTypes.includes(x)) out.push(`schema.json: ${what} has '${x}', which the IR has not`);
  };
  compare("the node's op enum", s.definitions.node.properties.op.enum, opNames);
  compare("the activation enum", s.definitions.activation.enum, activations);
  for (const op of opNames) {
    const rules = s.definitions.node.allOf.filter((r) => {
      const o = r.if.properties.op;
      return o.const === op || (o.enum ?? []).includes(op);
    });
    if (rules.length !== 1)
      out.push(`schema.json: ${rules.length} rules say what the attrs of '${op}' are, not 1`);
  }
  return out;
}

/** The "## Layers" section of docs/LANGUAGE.md: the layer catalogue and each layer's section. */
export function layersSection(text = readFileSync(join(repo, "docs", "LANGUAGE.md"), "utf8")) {
  const start = text.indexOf("\n## Layers\n");
  const end = text.indexOf("\n## ", start + 1);
  return text.slice(start, end === -1 ? undefined : end);
}

/** The layer words docs/LANGUAGE.md's "Layers" section never writes as `word`. */
export function undocumentedWords(words: Iterable<string>, section = layersSection()): string[] {
  return [...words].filter((w) => !section.includes(`\`${w}\``));
}
