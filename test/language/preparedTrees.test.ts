import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "../../grammar/parse.js";
import {
  preparedParse,
  storedTree,
  treeFileName,
  writePreparedTrees,
} from "../../compiler/language/preparedTrees.js";
import { stdlibDir } from "../../compiler/language/paths.js";

// The standard library's parses stored at build time (compiler/language/preparedTrees.ts): the
// same trees, comments and diagnostics as parsing, under any shown name, and only ever for
// exactly the text they were made from.
const dir = mkdtempSync(join(tmpdir(), "archc-std-trees-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const modules = readdirSync(stdlibDir).filter((f) => f.endsWith(".arch"));
const text = (name: string) => readFileSync(join(stdlibDir, name), "utf8");

describe("prepared trees", () => {
  const folder = join(dir, "trees");
  it("are written for every standard module and read back as its parse", () => {
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder);
    expect(writePreparedTrees(stdlibDir, folder)).toEqual([...modules].sort());
    for (const name of modules)
      for (const shown of [`stdlib/${name}`, `/elsewhere/with "quotes"/${name}`]) {
        const prepared = preparedParse(folder, shown, text(name));
        expect(prepared, name).toBeDefined();
        expect(prepared).toStrictEqual(parse(shown, text(name)));
      }
  });

  it("are never used for another text: an edited module, a clash of names, a damaged file", () => {
    const units = text("units.arch");
    const edited = units.replace("block", "block ");
    expect(preparedParse(folder, "stdlib/units.arch", edited)).toBeUndefined();
    expect(preparedParse(folder, "stdlib/units.arch", `${units}\n`)).toBeUndefined();
    // A stored file under the name another text would have: its own text is checked.
    writeFileSync(join(folder, treeFileName(edited)), storedTree(units)!);
    expect(preparedParse(folder, "stdlib/units.arch", edited)).toBeUndefined();
    writeFileSync(join(folder, treeFileName(units)), storedTree(units)!.slice(0, 500));
    expect(preparedParse(folder, "stdlib/units.arch", units)).toBeUndefined();
  });

  it("store a text with errors with its diagnostics, and refuse one naming the placeholder", () => {
    const broken = "block b(x) {\n  conv 3x3 x ->\n}\n";
    const json = storedTree(broken)!;
    writeFileSync(join(dir, treeFileName(broken)), json);
    const r = preparedParse(dir, "b.arch", broken)!;
    expect(r.diagnostics.length).toBeGreaterThan(0);
    expect(r).toStrictEqual(parse("b.arch", broken));
    expect(storedTree('network n { input 8x8x1 } # "<archc-std-file>"\n')).toBeUndefined();
  });
});
