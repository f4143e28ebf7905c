import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Project, ts, type SourceFile } from "ts-morph";
import { describe, expect, it } from "vitest";
import { grammarFile, layerWordsOf, withLayerWords } from "../../compiler/cli/lsp/tmGrammar.js";
import { ops } from "../../compiler/language/elaborate/ops/catalogue.js";
import { undocumentedWords } from "../language/opAgreement.js";

const repo = join(import.meta.dirname, "..", "..");

interface Row {
  readonly n: number;
  readonly file: string;
  readonly foundBy: string;
}

/** The table of compiler/README.md's "Adding an op" section. */
function readmeRows(): Row[] {
  const text = readFileSync(join(repo, "compiler", "README.md"), "utf8");
  const section = text.slice(text.indexOf("\n## Adding an op\n"));
  return [...section.matchAll(/^\| (\d+) +\| `([^`]+)` +\| (.+?) +\|/gm)].map((m) => ({
    n: Number(m[1]),
    file: m[2]!,
    foundBy: m[3]!,
  }));
}

/** The files that import `target`, directly or through others: the only ones its types reach. */
function importersOf(targets: readonly SourceFile[]): Set<SourceFile> {
  const seen = new Set<SourceFile>(targets);
  const queue = [...targets];
  for (let f = queue.pop(); f; f = queue.pop()) {
    for (const r of f.getReferencingSourceFiles()) {
      if (!seen.has(r)) {
        seen.add(r);
        queue.push(r);
      }
    }
  }
  return seen;
}

/** What the type checker says once the new op is in the IR, and again once row 2 defines it. */
interface Checked {
  /** With op `dummy_op` in the IR and layer kind `dummyLayer` in the plan: the files naming each. */
  readonly op: string[];
  readonly layer: string[];
  /** Then with the op's word `dummy` in a family file (row 2): the files still naming the op. */
  readonly afterRow2: string[];
  /**
   * The files with any error then among the language's op files and generated TypeScript's
   * runtime and emitter: none, for row 2 is done and the runtime needs no edit.
   */
  readonly stillErring: string[];
  /** The errors in a module written as generated TypeScript calls the new word, by line. */
  readonly generated: { line: number; message: string }[];
}

/** Where a family file defines the dummy op: its word, and its entry in simpleOps. */
const dummyWord = `
export const dummy = {
  name: "dummy",
  doc: "a dummy op",
  attrs: [{ name: "k", kind: "int", positional: true, doc: "a count" }, nameAttr],
  lower: (ctx) => ({
    op: "dummy_op",
    attrs: { k: 1 },
    shape: ctx.input,
    params: noParams,
    macs: 0,
  }),
} as const satisfies OpSpec<"dummy_op">;
`;

/** Generated TypeScript's use of the new word: line 5 is right, line 6 passes a string as `k`. */
const generatedUse = `import { Builder } from "./backends/ts/runtime/builder.js";
const s = Builder.network("n");
const x = s.input([8, 8, 4]);
export const layers = [
  s.layer("dummy", x, { k: 3, name: "d" }),
  s.layer("dummy", x, { k: "three" }),
];
`;

/**
 * Adds op `dummy_op` to the IR and layer kind `dummyLayer` to the tfjs plan, in memory, and type
 * checks compiler/: for each added name, the files whose errors name it. Then defines the op's
 * word in a family file, as row 2 says, and checks again, with a module that calls the word as
 * generated TypeScript does.
 */
function checkTheNewOp(): Checked {
  const project = new Project({
    tsConfigFilePath: join(repo, "tsconfig.json"),
    skipAddingFilesFromTsConfig: true,
  });
  project.addSourceFilesAtPaths(join(repo, "compiler", "**", "*.ts"));
  const types = project.getSourceFileOrThrow(join(repo, "compiler/language/ir/types.ts"));
  const irNode = types.getTypeAliasOrThrow("IRNode");
  irNode.setType(
    `${irNode.getTypeNodeOrThrow().getText()} | NodeBase<"dummy_op", { readonly k: number }>`,
  );
  const plan = project.getSourceFileOrThrow(join(repo, "compiler/backends/tfjs/plan.ts"));
  const kind = plan.getTypeAliasOrThrow("LayerKind");
  kind.setType(`${kind.getTypeNodeOrThrow().getText()} | "dummyLayer"`);
  const errors = (files: Iterable<SourceFile>) => {
    const program = project.getProgram();
    return [...files].flatMap((file) =>
      program.getSemanticDiagnostics(file).map((d) => ({
        path: file.getFilePath().slice(repo.length + 1),
        line: d.getLineNumber() ?? 0,
        message: ts.flattenDiagnosticMessageText(d.compilerObject.messageText, "\n"),
      })),
    );
  };
  const naming = (es: ReturnType<typeof errors>, name: string) =>
    [...new Set(es.filter((e) => e.message.includes(name)).map((e) => e.path))].sort();
  const first = errors(importersOf([types, plan]));

  const simple = project.getSourceFileOrThrow(
    join(repo, "compiler/language/elaborate/ops/simple.ts"),
  );
  const table = simple.getVariableDeclarationOrThrow("simpleOps");
  simple.insertStatements(table.getVariableStatementOrThrow().getChildIndex(), dummyWord);
  table.setInitializer(
    table
      .getInitializerOrThrow()
      .getText()
      .replace(/^\{/, "{\n  dummy_op: { words: [dummy], attrs: { k: value.positive } },"),
  );
  const use = project.createSourceFile(join(repo, "compiler/dummyGenerated.ts"), generatedUse);
  const second = errors(importersOf([types, plan, simple]));
  // The family file and the catalogue once the word is written; the rest need no edit.
  const clean = [
    "compiler/language/elaborate/ops/",
    "compiler/backends/ts/runtime/",
    "compiler/backends/ts/emit.ts",
  ];
  return {
    op: naming(first, "dummy_op"),
    layer: naming(first, "dummyLayer"),
    afterRow2: naming(second, "dummy_op"),
    stillErring: [
      ...new Set(second.filter((e) => clean.some((r) => e.path.startsWith(r))).map((e) => e.path)),
    ],
    generated: errors([use]).map(({ line, message }) => ({ line, message })),
  };
}

describe("adding an op: compiler/README.md names every file, and each file is found", () => {
  const rows = readmeRows();

  it("the README's list is well formed: files that exist, found by tsc, a test or a row", () => {
    expect(rows.map((r) => r.n)).toEqual(rows.map((_, i) => i + 1));
    for (const r of rows) {
      const path = join(repo, r.file.replace(/\/\*\.ts$/, ""));
      expect(existsSync(path), r.file).toBe(true);
      const by = r.foundBy;
      if (by.startsWith("`")) expect(existsSync(join(repo, by.slice(1, -1))), by).toBe(true);
      else if (by.startsWith("row ")) expect(Number(by.slice(4))).toBeLessThanOrEqual(rows.length);
      else if (by.startsWith("tsc, at `"))
        expect(existsSync(join(repo, by.slice(9, -1))), by).toBe(true);
      else expect(["start", "tsc", "tsc, new tfjs layer", "(yours)"], r.file).toContain(by);
    }
  });

  it("the files the type checker names for a new op and a new tfjs layer are the README's tsc rows", () => {
    const named = checkTheNewOp();
    const rowsFoundBy = (by: string) =>
      rows
        .filter((r) => r.foundBy === by)
        .map((r) => r.file)
        .sort();
    // A row found "tsc, at `file`" is edited where its entry lives, named by the check in file.
    const namedAt = rows
      .filter((r) => r.foundBy.startsWith("tsc, at `"))
      .map((r) => r.foundBy.slice(9, -1));
    expect(named.op).toEqual([...rowsFoundBy("tsc"), ...namedAt].sort());
    expect(named.layer).toEqual(rowsFoundBy("tsc, new tfjs layer"));
    // Row 2 done, the other tsc rows remain; generated TypeScript's runtime needs no edit: the
    // new word's options are typed from its attributes, so a wrong one is an error in the
    // generated module, not in the runtime.
    expect(named.afterRow2).toEqual(rowsFoundBy("tsc"));
    expect(named.stillErring).toEqual([]);
    expect(named.generated.map((e) => e.line)).toEqual([6]);
    expect(named.generated[0]!.message).toMatch(/'string' is not assignable to type 'Num/);
  }, 300_000);

  it("the rows found by a test: docs/LANGUAGE.md is named for a new op", () => {
    const byTest = (file: string) => rows.find((r) => r.file === file)!.foundBy;
    expect(byTest("docs/LANGUAGE.md")).toBe("`test/language/opAgreement.test.ts`");
    expect(undocumentedWords(["dummy_op"])).toEqual(["dummy_op"]);
  });

  it("the VS Code grammar is no row: the build writes a new word into it", () => {
    expect(rows.map((r) => r.file)).not.toContain(grammarFile);
    const grammar = readFileSync(join(repo, grammarFile), "utf8");
    expect(layerWordsOf(withLayerWords(grammar, [...ops.keys(), "dummy"]))).toContain("dummy");
  });
});
