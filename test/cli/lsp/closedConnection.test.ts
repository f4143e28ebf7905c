import { describe, expect, it } from "vitest";
import { connectInMemory } from "../../../compiler/cli/lsp/client.js";

describe("a check that ends after the editor has gone", () => {
  it("drops its diagnostics instead of throwing on the closed connection", async () => {
    const errors: unknown[] = [];
    const onError = (e: unknown) => errors.push(e);
    process.on("uncaughtException", onError);
    process.on("unhandledRejection", onError);
    try {
      const s = await connectInMemory();
      await s.notify("textDocument/didOpen", {
        textDocument: {
          uri: "file:///virtual/late.arch",
          languageId: "arch",
          version: 1,
          text: "network n {\n  input 8x8x3\n  conv 3x3 8\n}\n",
        },
      });
      await new Promise((r) => setTimeout(r, 300));
      await s.notify("textDocument/didChange", {
        textDocument: { uri: "file:///virtual/late.arch", version: 2 },
        contentChanges: [{ text: "network n {\n  input 8x8x3\n  conv 3x3 16\n}\n" }],
      });
      // Closed before the edit's debounced check has run: its result has no one to go to.
      await s.close();
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      process.off("uncaughtException", onError);
      process.off("unhandledRejection", onError);
    }
    expect(errors).toEqual([]);
  });
});
