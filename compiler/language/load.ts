import { dirname, resolve, relative, isAbsolute, sep } from "node:path";
import type { IToken } from "chevrotain";
import type { ImportDecl, Program } from "../../grammar/ast.js";
import { parse, type ParseResult } from "../../grammar/parse.js";
import { error, type Diagnostic } from "../../grammar/diagnostic.js";
import { defaultHost } from "./defaultHost.js";
import { UnreadableSource, type SpecHost } from "./host.js";
import { syntheticSpan } from "../../grammar/span.js";

export interface Module {
  /** The path shown to users (relative to the working directory when shorter). */
  readonly file: string;
  readonly absPath: string;
  /** The import that first reached it, as written (`std/units`); absent for the root. */
  readonly importedAs?: string;
  readonly text: string;
  readonly program: Program;
  readonly comments: readonly IToken[];
}

export interface Loaded {
  readonly root: Module | undefined;
  /** Every module reached, the root first. */
  readonly modules: readonly Module[];
  readonly diagnostics: readonly Diagnostic[];
  /** Source text by displayed file name, for code frames. */
  source(file: string): string | undefined;
}

/** Where the text of a file comes from; tests and `fmt --check` of unsaved text swap it. */
export type ReadFile = (absPath: string) => string;

export { UnreadableSource };

/**
 * Loads a spec and everything it imports. Imports are either `std/NAME` (the standard library)
 * or relative paths, which must stay inside the folder of the spec given on the command line.
 */
export function load(entry: string, read?: ReadFile, host: SpecHost = defaultHost): Loaded {
  const readText = read ?? ((p: string) => host.read(p));
  const { stdlibDir, displayPath } = host;
  const rootDir = dirname(resolve(entry));
  // Imports are checked by where they really are, so a symlink cannot lead outside.
  const roots = [host.realpath(rootDir), host.realpath(stdlibDir)];
  const modules: Module[] = [];
  const byPath = new Map<string, Module>();
  const diagnostics: Diagnostic[] = [];
  const texts = new Map<string, string>();

  const visit = (absPath: string, stack: string[], via?: ImportDecl): void => {
    if (stack.includes(absPath)) {
      const cycle = [...stack.slice(stack.indexOf(absPath)), absPath].map(displayPath).join(" -> ");
      diagnostics.push(
        error(
          "E0201",
          via!.path.span,
          `import cycle: ${cycle}`,
          "move the shared blocks into a file that both import",
        ),
      );
      return;
    }
    if (byPath.has(absPath)) return;
    let text: string;
    const file = displayPath(absPath);
    try {
      text = readText(absPath);
    } catch (e) {
      const span = via ? via.path.span : syntheticSpan(file);
      if (e instanceof UnreadableSource) {
        diagnostics.push(
          via
            ? error("E0105", span, `cannot read import "${via.path.value}": ${e.message}`)
            : error("E0105", span, `cannot read ${file}: ${e.message}`),
        );
        return;
      }
      diagnostics.push(
        via
          ? error(
              "E0200",
              span,
              via.path.value.startsWith("std/")
                ? `cannot find import "${via.path.value}": the standard library has no such module`
                : `cannot find import "${via.path.value}" (looked for ${file})`,
              importHint(via.path.value, host),
            )
          : error("E0100", span, `cannot read ${file}`),
      );
      return;
    }
    texts.set(file, text);
    const parsed = parseOnce(absPath, file, text, host);
    const mod: Module = {
      file,
      absPath,
      ...(via ? { importedAs: via.path.value } : {}),
      text,
      program: parsed.program,
      comments: parsed.comments,
    };
    modules.push(mod);
    byPath.set(absPath, mod);
    diagnostics.push(...parsed.diagnostics);
    for (const imp of parsed.program.imports) {
      const target = resolveImport(imp, absPath, rootDir, roots, host);
      if ("diagnostic" in target) diagnostics.push(target.diagnostic);
      else visit(target.path, [...stack, absPath], imp);
    }
  };

  visit(resolve(entry), []);
  return {
    root: modules[0],
    modules,
    diagnostics,
    source: (f) => texts.get(f),
  };
}

/**
 * The last parse of each file, reused while its text is the same: the language server checks a
 * spec again on every change, and the modules it imports (the standard library) rarely change
 * with it. Syntax trees are immutable values, so sharing one between loads is safe.
 */
const parsedFiles = new Map<string, { file: string; text: string; parsed: ParseResult }>();

function parseOnce(absPath: string, file: string, text: string, host: SpecHost): ParseResult {
  const hit = parsedFiles.get(absPath);
  if (hit && hit.text === text && hit.file === file) return hit.parsed;
  const parsed = host.prepared?.(absPath, file, text) ?? parse(file, text);
  parsedFiles.set(absPath, { file, text, parsed });
  return parsed;
}

function within(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || (!rel.startsWith(".." + sep) && rel !== ".." && !isAbsolute(rel));
}

function resolveImport(
  imp: ImportDecl,
  from: string,
  rootDir: string,
  roots: readonly string[],
  host: SpecHost,
): { path: string } | { diagnostic: Diagnostic } {
  const r = resolveImportText(imp, from, rootDir, host);
  if ("diagnostic" in r) return r;
  const real = host.realpath(r.path);
  if (roots.some((root) => within(root, real))) return r;
  return {
    diagnostic: error(
      "E0202",
      imp.path.span,
      `import "${imp.path.value}" leads outside the spec's folder: it is a link to ${real}`,
      "imports may name files in the spec's folder and below, or std/ modules; copy the file in instead of linking it",
    ),
  };
}

function resolveImportText(
  imp: ImportDecl,
  from: string,
  rootDir: string,
  { stdlibDir, displayPath }: SpecHost,
): { path: string } | { diagnostic: Diagnostic } {
  const spec = imp.path.value;
  const withExt = spec.endsWith(".arch") ? spec : `${spec}.arch`;
  if (spec.startsWith("std/")) {
    const path = resolve(stdlibDir, withExt.slice(4));
    if (!within(stdlibDir, path)) {
      return {
        diagnostic: error("E0202", imp.path.span, `import "${spec}" leaves the standard library`),
      };
    }
    return { path };
  }
  if (!spec.startsWith("./") && !spec.startsWith("../")) {
    return {
      diagnostic: error(
        "E0200",
        imp.path.span,
        `import "${spec}" is neither a standard-library module nor a relative path`,
        `write "std/${spec}" for the standard library or "./${spec}" for a file beside this one`,
      ),
    };
  }
  const path = resolve(dirname(from), withExt);
  if (!within(rootDir, path) && !within(stdlibDir, path)) {
    return {
      diagnostic: error(
        "E0202",
        imp.path.span,
        `import "${spec}" reaches outside the spec's folder (${displayPath(rootDir) || "."})`,
        "imports may name files in the spec's folder and below, or std/ modules",
      ),
    };
  }
  return { path };
}

function importHint(spec: string, host: SpecHost): string | undefined {
  if (!spec.startsWith("std/")) return undefined;
  const names = host.stdlibModules().map((m) => `std/${m}`);
  return names.length ? `the standard library has ${names.join(", ")}` : undefined;
}

/** The file an import names, as the loader resolves it (before checking where it leads). */
export function importTarget(spec: string, from: string, host: SpecHost = defaultHost): string {
  const withExt = spec.endsWith(".arch") ? spec : `${spec}.arch`;
  return spec.startsWith("std/")
    ? resolve(host.stdlibDir, withExt.slice(4))
    : resolve(dirname(from), withExt);
}
