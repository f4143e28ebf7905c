import * as estree from "prettier/plugins/estree";
import * as typescript from "prettier/plugins/typescript";
import { format as formatStandalone } from "prettier/standalone";

/**
 * What the TypeScript emitter's `import * as prettier from "prettier"` gets in the browser
 * (scripts/build-playground.mjs swaps it in): prettier's standalone build, which takes its
 * parsers as plugins instead of loading them from disk. Same printer, same output.
 */
export function format(
  text: string,
  options: NonNullable<Parameters<typeof formatStandalone>[1]>,
): Promise<string> {
  return formatStandalone(text, { ...options, plugins: [estree, typescript] });
}
