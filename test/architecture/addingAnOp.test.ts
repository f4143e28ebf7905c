import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Project, ts, type SourceFile } from "ts-morph";
import { describe, expect, it } from "vitest";
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

/**
 * Adds op `dummy_op` to the IR and layer kind `dummyLayer` to the tfjs plan, in memory, and type
 * checks compiler/: for each added name, the files whose errors name it.
 */
function filesNamingTheNewOp(): Record<"op" | "layer", string[]> {
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
  const program = project.getProgram();
  const found = { op: new Set<string>(), layer: new Set<string>() };
  for (const file of importersOf([types, plan])) {
    for (const d of program.getSemanticDiagnostics(file)) {
      const message = ts.flattenDiagnosticMessageText(d.compilerObject.messageText, "\n");
      const path = file.getFilePath().slice(repo.length + 1);
      if (message.includes("dummy_op")) found.op.add(path);
      if (message.includes("dummyLayer")) found.layer.add(path);
    }
  }
  return { op: [...found.op].sort(), layer: [...found.layer].sort() };
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
    const named = filesNamingTheNewOp();
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
  }, 300_000);

  it("the rows found by a test: docs/LANGUAGE.md is named for a new op", () => {
    const byTest = (file: string) => rows.find((r) => r.file === file)!.foundBy;
    expect(byTest("docs/LANGUAGE.md")).toBe("`test/language/opAgreement.test.ts`");
    expect(undocumentedWords(["dummy_op"])).toEqual(["dummy_op"]);
  });
});
