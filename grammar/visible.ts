// Apart from the lexer so that printing a diagnostic (every command's error path) does not load
// chevrotain and build the lexer: `archc --version` and commands that never parse stay fast.

/**
 * Text from a source file made safe to print on a terminal: control characters, and those that
 * reorder text, are written as escapes, so a spec cannot move the cursor or hide what it says.
 */
export function visible(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g,
    (ch) => {
      const code = ch.charCodeAt(0);
      return code <= 0xff
        ? `\\x${code.toString(16).padStart(2, "0")}`
        : `\\u{${code.toString(16)}}`;
    },
  );
}
