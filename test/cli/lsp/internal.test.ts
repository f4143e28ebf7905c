import { pathToFileURL } from "node:url";
import { describe, expect, it, vi } from "vitest";
import type { Hover } from "vscode-languageserver/node";
import { connectInMemory } from "../../../compiler/cli/lsp/client.js";

// A fault inside archc itself, on one particular text: the server must report it and stay up.
vi.mock("../../../compiler/services/analysis.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../../compiler/services/analysis.js")>();
  return {
    ...real,
    analyse: (...args: Parameters<typeof real.analyse>) => {
      if (args[2]?.includes("# crash")) throw new TypeError("x is undefined");
      return real.analyse(...args);
    },
  };
});

describe("archc lsp on an internal error", () => {
  it("reports it as a diagnostic, and keeps serving the next text", async () => {
    const s = await connectInMemory();
    try {
      const uri = pathToFileURL("/virtual/internal.arch").href;
      const text = "network n() {\n  input 8x8x3\n  gap\n}\n";
      const first = s.nextDiagnostics(uri, (p) => p.version === 1);
      await s.notify("textDocument/didOpen", {
        textDocument: { uri, languageId: "arch", version: 1, text: text + "# crash\n" },
      });
      const d = (await first).diagnostics;
      expect(d).toHaveLength(1);
      expect(d[0]!.message).toBe(
        "archc: internal error: x is undefined (please report this with the spec that caused it)",
      );
      const second = s.nextDiagnostics(uri, (p) => p.version === 2);
      await s.notify("textDocument/didChange", {
        textDocument: { uri, version: 2 },
        contentChanges: [{ text }],
      });
      expect((await second).diagnostics).toEqual([]);
      const h = await s.request<Hover | null>("textDocument/hover", {
        textDocument: { uri },
        position: { line: 2, character: 2 },
      });
      expect(JSON.stringify(h?.contents)).toContain("output **3**");
    } finally {
      await s.close();
    }
  });
});
