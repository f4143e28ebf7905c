import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ErrorCodes, type Hover, type ResponseError } from "vscode-languageserver/node";
import { spawnLsp, type LspProcess } from "../../../compiler/cli/lsp/processClient.js";
import { limits } from "../../../grammar/limits.js";
import { runCli } from "../../helpers.js";

// Each test speaks JSON-RPC to a real `archc lsp` process (bin/archc.cjs: run `npm run build`
// after changing the compiler).

const small = "network small(parts = 4) {\n  input 8x8x8\n  conv 3x3 8 parts = parts\n  gap\n}\n";

/** A valid spec of at least `bytes` bytes: many small blocks and a network calling some. */
function bigSpec(bytes: number): string {
  let s = "";
  let i = 0;
  for (; s.length < bytes; i++) {
    s += `block b${i}(filters, parts = depthwise) {\n  conv 3x3 filters parts = parts -> bn -> relu\n  conv 1x1 filters -> bn\n}\n\n`;
  }
  const calls = Array.from({ length: Math.min(i, 40) }, (_, j) => `  b${j}(16)\n`).join("");
  return `${s}network net(parts = 4) {\n  input 32x32x16\n${calls}  gap -> dense 10\n}\n`;
}

const open = (p: LspProcess, uri: string, text: string, version = 1) =>
  p.client.sendNotification("textDocument/didOpen", {
    textDocument: { uri, languageId: "arch", version, text },
  });

const hover = (p: LspProcess, uri: string, line: number, character: number) =>
  p.client.sendRequest<Hover | null>("textDocument/hover", {
    textDocument: { uri },
    position: { line, character },
  });

async function initialized(p: LspProcess) {
  await p.client.sendRequest("initialize", { processId: null, rootUri: null, capabilities: {} });
  await p.client.sendNotification("initialized", {});
}

let server: LspProcess | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const dir = mkdtempSync(join(tmpdir(), "archc-lsp-hard-"));

describe("archc lsp before initialize", () => {
  it("refuses requests with ServerNotInitialized and drops notifications", async () => {
    server = spawnLsp();
    const uri = pathToFileURL(join(dir, "early.arch")).href;
    await open(server, uri, small);
    const refused = await hover(server, uri, 2, 3).then(
      () => undefined,
      (e: ResponseError) => e,
    );
    expect(refused?.code).toBe(ErrorCodes.ServerNotInitialized);
    const shutdown = await server.client.sendRequest("shutdown", null).then(
      () => undefined,
      (e: ResponseError) => e,
    );
    expect(shutdown?.code).toBe(ErrorCodes.ServerNotInitialized);
    await initialized(server);
    // The didOpen sent before initialize was dropped: the document is not known.
    expect(await hover(server, uri, 2, 3)).toBeNull();
    const d = server.nextDiagnostics(uri);
    await open(server, uri, small);
    expect((await d).diagnostics).toEqual([]);
    expect(JSON.stringify((await hover(server, uri, 2, 3))?.contents)).toContain("output");
  });
});

describe("archc lsp on an open document over the size limit", () => {
  it("gives the diagnostic archc check gives for the file on disk, at line 1", async () => {
    const path = join(dir, "huge.arch");
    const text = bigSpec(limits.specBytes + 1000);
    writeFileSync(path, text);
    const check = JSON.parse((await runCli("check", path, "--json")).stdout) as {
      files: { diagnostics: { code: string; message: string; line: number }[] }[];
    };
    const expected = check.files[0]!.diagnostics;
    expect(expected.map((d) => [d.code, d.line])).toEqual([["E0105", 1]]);
    server = spawnLsp();
    await initialized(server);
    const uri = pathToFileURL(path).href;
    const published = server.nextDiagnostics(uri);
    await open(server, uri, text);
    const d = (await published).diagnostics;
    expect(d.map((x) => [x.code, x.message, x.range.start])).toEqual([
      ["E0105", expected[0]!.message, { line: 0, character: 0 }],
    ]);
    expect(await hover(server, uri, 3, 3)).toBeNull();

    // A file importing it is told it cannot be read, as when it lies on disk only.
    const importer = pathToFileURL(join(dir, "importer.arch")).href;
    const viaImport = server.nextDiagnostics(importer);
    await open(server, importer, `import "./huge"\n\n${small}`);
    const [only] = (await viaImport).diagnostics;
    expect(only?.code).toBe("E0105");
    expect(only?.message).toContain(
      `cannot read import "./huge": it is ${text.length.toLocaleString("en-US")} bytes`,
    );

    // Cut below the limit, it is checked again.
    const fixed = server.nextDiagnostics(uri, (p) => p.version === 2);
    await server.client.sendNotification("textDocument/didChange", {
      textDocument: { uri, version: 2 },
      contentChanges: [{ text: small }],
    });
    expect((await fixed).diagnostics).toEqual([]);
  });
});

describe("archc lsp while another document is checked", () => {
  it("answers a hover before the long check of another file ends", async () => {
    server = spawnLsp();
    await initialized(server);
    const a = pathToFileURL(join(dir, "a.arch")).href;
    const b = pathToFileURL(join(dir, "b.arch")).href;
    const first = server.nextDiagnostics(a);
    await open(server, a, small);
    await first;
    const order: string[] = [];
    const checked = server.nextDiagnostics(b).then(() => order.push("check of b"));
    await open(server, b, bigSpec(limits.specBytes - 8 * 1024));
    const h = await hover(server, a, 2, 3);
    order.push("hover on a");
    await checked;
    expect(JSON.stringify(h?.contents)).toContain("output");
    expect(order).toEqual(["hover on a", "check of b"]);
  });
});

describe("archc lsp after big documents close", () => {
  it("gives their memory back", async () => {
    server = spawnLsp();
    await initialized(server);
    const a = pathToFileURL(join(dir, "keep.arch")).href;
    const first = server.nextDiagnostics(a);
    await open(server, a, small);
    await first;
    const before = server.rss();
    const text = bigSpec(limits.specBytes - 8 * 1024);
    for (let i = 0; i < 3; i++) {
      const uri = pathToFileURL(join(dir, `big${i}.arch`)).href;
      const d = server.nextDiagnostics(uri);
      await open(server, uri, text);
      await d;
      // Figures too, as an editor's hover or inlay hints would build them.
      await hover(server, uri, text.split("\n").length - 3, 3);
      await server.client.sendNotification("textDocument/didClose", { textDocument: { uri } });
    }
    // Closing is a notification, and memory is given back as it is handled: wait for it.
    await vi.waitFor(() => expect((server!.rss() - before) / 2 ** 20).toBeLessThan(40), {
      timeout: 10_000,
      interval: 250,
    });
    expect(JSON.stringify((await hover(server, a, 2, 3))?.contents)).toContain("output");
  });
});

describe("archc lsp on odd document URIs", () => {
  const odd = [
    "file://fileserver/share/x.arch",
    "file:///tmp/a%2Fb.arch",
    "file://%zz/x.arch",
    "not a uri",
    "https://example.com/x.arch",
  ];
  it.each(odd)(
    "answers %s with a diagnostic or an empty result, never an internal error",
    async (uri) => {
      server = spawnLsp();
      await initialized(server);
      const published = server.nextDiagnostics(uri);
      await open(server, uri, small);
      const d = (await published).diagnostics;
      for (const x of d) expect(JSON.stringify(x.message)).not.toContain("internal error");
      const h = await hover(server, uri, 2, 3);
      expect(h === null || JSON.stringify(h.contents).includes("output")).toBe(true);
      await server.client.sendNotification("workspace/didChangeWatchedFiles", {
        changes: [{ uri, type: 2 }],
      });
      await server.client.sendNotification("textDocument/didClose", { textDocument: { uri } });
      expect(
        await server.client.sendRequest("textDocument/documentSymbol", { textDocument: { uri } }),
      ).toEqual([]);
      expect(
        server.published.some((p) =>
          p.diagnostics.some((x) => JSON.stringify(x.message).includes("internal error")),
        ),
      ).toBe(false);
    },
  );
  it("names the host of a file URL on another machine", async () => {
    server = spawnLsp();
    await initialized(server);
    const uri = "file://fileserver/share/x.arch";
    const published = server.nextDiagnostics(uri);
    await open(server, uri, small);
    const d = (await published).diagnostics;
    expect(d).toHaveLength(1);
    expect(d[0]!.range.start).toEqual({ line: 0, character: 0 });
    expect(d[0]!.message).toContain('"fileserver"');
  });
});
