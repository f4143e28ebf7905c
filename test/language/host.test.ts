import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { memoryHost } from "../../compiler/language/host.js";
import { stdlibDir } from "../../compiler/language/paths.js";
import {
  buildNetwork,
  checkProgram,
  loadProgram,
  pickNetwork,
} from "../../compiler/language/program.js";

/** The browser's view of a spec: texts in memory, no file system behind them. */
function bundled(extra: Record<string, string>) {
  const files = new Map<string, string>(Object.entries(extra));
  for (const f of readdirSync(stdlibDir))
    if (f.endsWith(".arch")) files.set(`/stdlib/${f}`, readFileSync(join(stdlibDir, f), "utf8"));
  return memoryHost(files);
}

const root = join(import.meta.dirname, "../..");

describe("a spec loaded from texts in memory", () => {
  it("resolves std/ imports and builds Xception to the reference figure", () => {
    const host = bundled({
      "/specs/xception.arch": readFileSync(join(root, "specs/xception.arch"), "utf8"),
    });
    const program = loadProgram("/specs/xception.arch", undefined, host);
    expect(checkProgram(program)).toEqual([]);
    const net = pickNetwork(program);
    if ("code" in net) throw new Error(net.message);
    const r = buildNetwork(program, net, []);
    expect(r.ok && r.graph.totals.params.total).toBe(22_910_480);
    expect(program.loaded.modules.map((m) => m.file)).toContain("stdlib/xception.arch");
  });

  it("names the modules it holds for a missing std/ import and the file for a relative one", () => {
    const host = bundled({
      "/specs/a.arch": 'import "std/nosuch"\nimport "./gone"\nnetwork n {\n  input 8x8x3\n}\n',
    });
    const d = loadProgram("/specs/a.arch", undefined, host).diagnostics;
    expect(d.map((x) => [x.code, x.span.file, x.span.start.line])).toEqual([
      ["E0200", "specs/a.arch", 1],
      ["E0200", "specs/a.arch", 2],
    ]);
    expect(d[0]!.hint).toContain("std/xception");
    expect(d[1]!.message).toContain("specs/gone.arch");
  });

  it("refuses a relative import that climbs out of the spec's folder", () => {
    const host = bundled({
      "/specs/a.arch": 'import "../secret"\nnetwork n {\n  input 8x8x3\n}\n',
      "/secret.arch": "block b() {\n  relu\n}\n",
    });
    const d = loadProgram("/specs/a.arch", undefined, host).diagnostics;
    expect(d.map((x) => x.code)).toEqual(["E0202"]);
  });
});
