import { assignNameMap } from "../text/names.js";
import { hex, replaceHidden, visible } from "../text/printable.js";

/**
 * The TypeScript printer's escapes: every piece of spec text (comments, names, strings, file
 * names) reaches generated TypeScript through one of these, never pasted.
 */

/**
 * Words a generated binding may not take: JavaScript's reserved words (strict mode and modules
 * included), TypeScript's primitive type names, and the globals generated code reads.
 */
export const tsReserved: ReadonlySet<string> = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends " +
    "false finally for function if import in instanceof new null return super switch this throw " +
    "true try typeof var void while with as implements interface let package private protected " +
    "public static yield await any boolean number string symbol type of undefined NaN Infinity " +
    "Math Object Array JSON Number String Boolean arguments eval globalThis"
  ).split(" "),
);

/**
 * The identifiers spec names take in generated TypeScript, by the rule of ../text/names.ts: a
 * valid name that is not reserved (`tsReserved` and `more`) stays; any other gets `_` appended
 * until it is free. `taken` holds the names already used in the scope and grows with these.
 */
export function tsNames(
  names: Iterable<string>,
  more: Iterable<string> = [],
  taken: Set<string> = new Set(),
): Map<string, string> {
  const extra = new Set(more);
  return assignNameMap(
    names,
    {
      valid: (n) => (/^[A-Za-z_$][\w$]*$/.test(n) ? n : `_${n.replace(/[^\w$]/g, "_")}`),
      reserved: (id) => tsReserved.has(id) || extra.has(id),
    },
    taken,
  );
}

/** What every object has from Object.prototype: a key named so would read the inherited member. */
const objectMembers = new Set([...Object.getOwnPropertyNames(Object.prototype), "__proto__"]);

/**
 * The property keys of an options object (a network's `build` options, a block function's
 * trailing options): the spec's names, except that a name Object.prototype has (`constructor`,
 * `toString`) gets `_` appended, unique among them; `{}` would otherwise hold a value for it.
 */
export function tsOptionKeys(names: Iterable<string>): Map<string, string> {
  return assignNameMap(names, { valid: (n) => n, reserved: (id) => objectMembers.has(id) });
}

/**
 * A string literal: JSON's escapes, and `\uXXXX` for what JSON leaves raw but a reader or an
 * older parser would not see as text (U+2028/U+2029, bidirectional controls, C1 controls).
 */
export function tsString(s: string): string {
  return replaceHidden(JSON.stringify(s), (cp) => `\\u${hex(cp)}`);
}

/**
 * Text for a `/** ... *\/` comment (ts-morph's `docs`): a `*\/` would close it, so the slash is
 * escaped; hidden characters are made visible.
 */
export function tsDoc(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((l) => visible(l).replace(/\*\//g, "*\\/"))
    .join("\n");
}

/** `//` comments, one per line of `text`: a line terminator inside would end one early. */
export function tsLineComments(text: string): string[] {
  return text.split(/\r\n|\r|\n/).map((l) => `// ${visible(l)}`.trimEnd());
}
