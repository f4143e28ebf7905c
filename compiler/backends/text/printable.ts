/**
 * What spec text may reach a generated artefact raw. Comments and strings of a spec can hold any
 * character but a newline; the ones here would change what a reader or a tool sees without being
 * visible: C0/C1 controls (terminal escapes), U+2028/U+2029 (line terminators in JavaScript, so
 * a `//` comment would end early), bidirectional overrides and isolates (Trojan Source,
 * CVE-2021-42574), zero-width characters and lone surrogates. Tabs and newlines are the callers'.
 */
const hidden = /(?![\t\n])[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/** `U+XXXX` hex digits of a code point, at least four. */
export function hex(cp: number): string {
  return cp.toString(16).toUpperCase().padStart(4, "0");
}

/**
 * Replaces each hidden character with `fn(code point)`. Every printer of a target language
 * escapes through this, with that language's notation.
 */
export function replaceHidden(text: string, fn: (cp: number) => string): string {
  return text.replace(hidden, (c) => fn(c.codePointAt(0)!));
}

/** Text for a comment, where no escape is read: hidden characters as a visible `\u{XXXX}`. */
export function visible(text: string): string {
  return replaceHidden(text, (cp) => `\\u{${hex(cp)}}`);
}

/** A comment's text as lines: whatever line terminator it holds splits it, never a raw one. */
export function commentLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/).map((l) => visible(l).trimEnd());
}
