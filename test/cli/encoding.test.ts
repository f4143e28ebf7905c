import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers.js";

const dir = mkdtempSync(join(tmpdir(), "archc-encoding-"));
const spec =
  "network n(parts = 4) {\n  input 8x8x8\n  conv 3x3 8 parts=parts\n  gap -> dense 10\n}\n";

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("spec files as editors save them", () => {
  it("a UTF-8 byte order mark is no part of the text", async () => {
    // It was "unexpected character '\u{feff}'" at 1:1.
    const path = file("bom.arch", `\ufeff${spec}`);
    expect((await runCli("check", path)).code).toBe(0);
    expect((await runCli("summary", path)).code).toBe(0);
    expect((await runCli("fmt", "--check", path)).code).toBe(0);
    // Columns count from the first character the user sees.
    const bad = file("bom_bad.arch", `\ufeffnetwork n( {\n}\n`);
    const r = JSON.parse((await runCli("check", bad, "--json")).stdout) as {
      files: { diagnostics: { line: number; column: number }[] }[];
    };
    expect(r.files[0]!.diagnostics[0]).toMatchObject({ line: 1, column: 12 });
  });

  it("CRLF and CR line ends check as LF does", async () => {
    for (const [name, eol] of [
      ["crlf.arch", "\r\n"],
      ["cr.arch", "\r"],
    ] as const) {
      const path = file(name, spec.replaceAll("\n", eol));
      const r = await runCli("summary", path, "--json");
      expect(r.code).toBe(0);
      expect((JSON.parse(r.stdout) as { params: { total: number } }).params.total).toBeGreaterThan(
        0,
      );
    }
  });
});
