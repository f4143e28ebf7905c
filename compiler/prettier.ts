/**
 * archc's third public entry, `archc/prettier`: a prettier plugin for `.arch` files whose parser
 * and printer are archc's own, so `prettier --write` gives exactly what `archc fmt` gives.
 *
 *     // .prettierrc.json
 *     { "plugins": ["archc/prettier"] }
 */
import type { Parser, Plugin, Printer, SupportLanguage } from "prettier";
import { parse } from "../grammar/parse.js";
import { print } from "../grammar/printer.js";
import { formatDiagnostics } from "./language/diagnostics/print.js";

/** What the parser hands the printer: the text archc's printer made, as prettier's one node. */
interface ArchRoot {
  readonly type: "arch-root";
  readonly formatted: string;
  readonly length: number;
}

/** A syntax error in the form prettier reports: the message and a `loc` it draws a frame from. */
class ArchSyntaxError extends SyntaxError {
  constructor(
    message: string,
    readonly loc: { start: { line: number; column: number } },
  ) {
    super(message);
  }
}

export const languages: SupportLanguage[] = [
  {
    name: "arch",
    parsers: ["arch"],
    extensions: [".arch"],
    vscodeLanguageIds: ["arch"],
  },
];

const archParser: Parser<ArchRoot> = {
  astFormat: "arch",
  parse(text, options) {
    const file = options.filepath ?? "<input>";
    const parsed = parse(file, text);
    const first = parsed.diagnostics[0];
    if (first) {
      // A formatter must not guess: text that does not parse is reported, never rewritten.
      throw new ArchSyntaxError(
        formatDiagnostics(parsed.diagnostics, () => text),
        {
          start: { line: first.span.start.line, column: first.span.start.column },
        },
      );
    }
    return {
      type: "arch-root",
      formatted: print(parsed.program, parsed.comments),
      length: text.length,
    };
  },
  locStart: () => 0,
  locEnd: (node) => node.length,
};

const archPrinter: Printer<ArchRoot> = {
  // The layout is archc's; prettier's line fitting has nothing left to decide.
  print: (path) => path.node.formatted,
};

export const parsers: Record<string, Parser> = { arch: archParser };
export const printers: Record<string, Printer> = { arch: archPrinter };

const plugin: Plugin = { languages, parsers, printers };
export default plugin;
