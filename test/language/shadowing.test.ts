import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildText, runCli } from "../helpers.js";

describe("a declaration named like an imported one", () => {
  it("is reported at the user's declaration, the imported one as a note", async () => {
    const text = [
      'import "std/units"',
      "block conv_bn(filters) {",
      "  conv 3x3 filters -> relu",
      "}",
      "network n() {",
      "  input 8x8x3",
      "  conv_bn(8)",
      "}",
      "",
    ].join("\n");
    const dir = mkdtempSync(join(tmpdir(), "archc-shadow-"));
    try {
      const file = join(dir, "spec.arch");
      writeFileSync(file, text);
      const r = await runCli("check", file, "--json");
      expect(r.code).toBe(1);
      const [d, ...rest] = JSON.parse(r.stdout).files[0].diagnostics;
      expect(rest).toEqual([]);
      expect(d.message).toMatch(/^'conv_bn' is also defined in std\/units \(imported\)$/);
      expect([d.code, d.file, d.line, d.column, d.hint]).toEqual([
        "E0204",
        file,
        2,
        7,
        expect.stringMatching(
          /^rename this block: an import brings in all of std\/units's declarations, and none can be left out$/,
        ),
      ]);
      expect([d.notes[0].message, d.notes[0].file]).toEqual([
        "also defined here",
        expect.stringMatching(/stdlib\/units\.arch$/),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("twice in one file keeps the second as the one reported", () => {
    const text =
      "block b() {\n  relu\n}\nblock b() {\n  relu\n}\nnetwork n() {\n  input 8x8x3\n  b()\n}\n";
    const d = buildText(text).diagnostics.find((x) => x.code === "E0204")!;
    expect([d.message, d.span.start.line, d.notes?.[0]?.span?.start.line]).toEqual([
      "'b' is defined twice",
      4,
      1,
    ]);
  });
});
