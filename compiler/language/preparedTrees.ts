import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import type { IToken, TokenType } from "chevrotain";
import { parse, type ParseResult } from "../../grammar/parse.js";
import { allTokens } from "../../grammar/tokens.js";

/**
 * The standard library's parses, computed when the CLI is built (scripts/bundle-cli.mjs), as the
 * grammar's analysis is: `archc check` of a spec parses the spec and the standard modules it
 * imports, and those are the same texts on every run. One JSON file per module, named by a hash
 * of its text and holding the text itself: a module edited after the build (a user changing an
 * installed copy) has another hash, and a file whose text is not the one asked for is never
 * used, so a stale tree is never served; the text is parsed as if there were none.
 */

/** Stands for the file's shown name in the stored tree: the name depends on where the user is. */
const placeholder = "<archc-std-file>";
const quotedPlaceholder = JSON.stringify(placeholder);

interface Stored {
  readonly text: string;
  readonly program: ParseResult["program"];
  readonly comments: readonly (Omit<IToken, "tokenType"> & { tokenType: string })[];
  readonly diagnostics: ParseResult["diagnostics"];
}

/** The name of the stored parse of `text`: its length and a 32-bit FNV-1a hash of it. */
export function treeFileName(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return `${text.length.toString(36)}-${(h >>> 0).toString(36)}.json`;
}

/** The stored form of `text`'s parse, or undefined where it would not read back the same. */
export function storedTree(text: string): string | undefined {
  if (text.includes(placeholder)) return undefined;
  const r = parse(placeholder, text);
  const stored: Stored = {
    text,
    program: r.program,
    comments: r.comments.map((c) => ({ ...c, tokenType: c.tokenType.name })),
    diagnostics: r.diagnostics,
  };
  const json = JSON.stringify(stored);
  // JSON keeps no undefined, NaN or infinity: a tree with one would read back otherwise.
  const again = revive(json, "check.arch");
  const fresh = parse("check.arch", text);
  return again && sameParse(again, fresh) ? json : undefined;
}

/** Writes the stored parse of every module in `stdlibDir` into `folder`; returns their names. */
export function writePreparedTrees(stdlibDir: string, folder: string): string[] {
  const written: string[] = [];
  for (const name of readdirSync(stdlibDir)
    .filter((f) => f.endsWith(".arch"))
    .sort()) {
    const json = storedTree(readFileSync(join(stdlibDir, name), "utf8"));
    if (json === undefined) continue;
    writeFileSync(join(folder, treeFileName(JSON.parse(json).text as string)), json);
    written.push(name);
  }
  return written;
}

/**
 * The parse of `text` shown as `file`, from the trees stored in `folder`, or undefined where
 * there is none for exactly this text (or it cannot be read): the caller parses then.
 */
export function preparedParse(folder: string, file: string, text: string): ParseResult | undefined {
  let raw: string;
  try {
    raw = readFileSync(join(folder, treeFileName(text)), "utf8");
  } catch {
    return undefined;
  }
  const r = revive(raw, file);
  if (!r || r.text !== text) return undefined;
  return { program: r.program, comments: r.comments, diagnostics: r.diagnostics };
}

let tokenTypes: Map<string, TokenType> | undefined;

function revive(json: string, file: string): (ParseResult & { text: string }) | undefined {
  try {
    const s = JSON.parse(json.split(quotedPlaceholder).join(JSON.stringify(file))) as Stored;
    tokenTypes ??= new Map(allTokens.map((t) => [t.name, t]));
    const comments: IToken[] = [];
    for (const c of s.comments) {
      const tokenType = tokenTypes.get(c.tokenType);
      if (!tokenType) return undefined;
      comments.push({ ...c, tokenType });
    }
    return { text: s.text, program: s.program, comments, diagnostics: s.diagnostics };
  } catch {
    return undefined; // damaged: parsed afresh
  }
}

function sameParse(a: ParseResult, b: ParseResult): boolean {
  return (
    isDeepStrictEqual(a.program, b.program) &&
    isDeepStrictEqual(a.comments, b.comments) &&
    isDeepStrictEqual(a.diagnostics, b.diagnostics)
  );
}
