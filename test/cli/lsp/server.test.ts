import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createProtocolConnection,
  DidOpenTextDocumentNotification,
  ExitNotification,
  HoverRequest,
  InitializeRequest,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
} from "vscode-languageserver/node";
import type {
  CompletionItem,
  DocumentSymbol,
  Hover,
  InlayHint,
  Location,
  MarkupContent,
  PublishDiagnosticsParams,
  TextEdit,
} from "vscode-languageserver/node";
import { formatCount } from "../../../compiler/backends/summary/summary.js";
import type { LayerSummary, Summary } from "../../../compiler/backends/summary/summary.js";
import { connectInMemory, type LspSession } from "../../../compiler/cli/lsp/client.js";
import { runCli } from "../../helpers.js";

const repo = join(import.meta.dirname, "..", "..", "..");
const xceptionPath = join(repo, "specs", "xception.arch");
const xceptionText = readFileSync(xceptionPath, "utf8");
const uriOf = (p: string) => pathToFileURL(p).href;

/** Line (0-based) and column of the first occurrence of `needle`. */
function at(text: string, needle: string, offset = 0) {
  const i = text.indexOf(needle);
  if (i < 0) throw new Error(`'${needle}' is not in the text`);
  const before = text.slice(0, i + offset);
  const line = before.split("\n").length - 1;
  return { line, character: before.length - before.lastIndexOf("\n") - 1 };
}

async function open(s: LspSession, path: string, text: string, version = 1) {
  const uri = uriOf(path);
  const published = s.nextDiagnostics(uri, (p) => p.version === version);
  await s.notify("textDocument/didOpen", {
    textDocument: { uri, languageId: "arch", version, text },
  });
  return { uri, diagnostics: await published };
}

async function hoverText(s: LspSession, uri: string, pos: { line: number; character: number }) {
  const h = await s.request<Hover | null>("textDocument/hover", {
    textDocument: { uri },
    position: pos,
  });
  return h ? (h.contents as MarkupContent).value : "";
}

/** What `archc check --json` says, in the form the server's diagnostics are compared in. */
async function checkJson(file: string) {
  const r = await runCli("check", file, "--json");
  const json = JSON.parse(r.stdout) as {
    files: {
      diagnostics: {
        file: string;
        code: string;
        message: string;
        hint?: string;
        line: number;
        column: number;
        endLine: number;
        endColumn: number;
      }[];
    }[];
  };
  return json.files[0]!.diagnostics.map((d) => ({
    code: d.code,
    message: d.hint ? `${d.message}\nhelp: ${d.hint}` : d.message,
    uri: uriOf(resolve(d.file)),
    range: {
      start: { line: d.line - 1, character: d.column - 1 },
      end: { line: d.endLine - 1, character: d.endColumn - 1 },
    },
  }));
}

/**
 * The server's diagnostics in the same form. One inside another file is shown in this one with
 * its place in front of the message and as the first related location: that is compared.
 */
const fromServer = (uri: string, p: PublishDiagnosticsParams) =>
  p.diagnostics.map((d) => {
    const message = typeof d.message === "string" ? d.message : d.message.value;
    const elsewhere = /^[^\s:]+:\d+:\d+: /.exec(message);
    if (!elsewhere) return { code: d.code, message, uri, range: d.range };
    const origin = d.relatedInformation![0]!.location;
    return {
      code: d.code,
      message: message.slice(elsewhere[0].length),
      uri: origin.uri,
      range: origin.range,
    };
  });

describe("archc lsp on specs/xception.arch", () => {
  let s: LspSession;
  let uri: string;
  let summary: Summary;
  beforeAll(async () => {
    s = await connectInMemory();
    const opened = await open(s, xceptionPath, xceptionText);
    uri = opened.uri;
    expect(opened.diagnostics.diagnostics).toEqual([]);
    summary = JSON.parse((await runCli("summary", xceptionPath, "--json")).stdout) as Summary;
  });
  afterAll(() => s.close());

  const sum = (layers: readonly LayerSummary[]) => ({
    params: layers.reduce((t, l) => t + l.params, 0),
    macs: layers.reduce((t, l) => t + l.macs, 0),
    shape: layers[layers.length - 1]!.shape.join("x"),
  });
  const under = (prefix: RegExp) => summary.layers.filter((l) => prefix.test(l.name));

  it("hovers a block call with the summed figures archc summary gives", async () => {
    // The second entry(...) call is the block instance entry_1.
    const text = await hoverText(s, uri, at(xceptionText, "entry(256"));
    const want = sum(under(/^entry_1\//));
    expect(text).toContain("block entry(filters");
    expect(text).toContain(`output **${want.shape}**`);
    expect(text).toContain(`params ${formatCount(want.params)}`);
    expect(text).toContain(`MACs ${formatCount(want.macs)}`);
    expect(text).toContain("parts = `parts` → 128, 256 groups (the other convolutions regular)");
  });

  it("hovers a repeated call with each run and the total", async () => {
    const text = await hoverText(s, uri, at(xceptionText, "middle(728"));
    const all = under(/^middle(_\d+)?\//);
    const one = sum(under(/^middle\//));
    expect(text).toContain("built 8 times");
    expect(text).toContain(`together params ${formatCount(sum(all).params)}`);
    expect(text).toContain(`MACs ${formatCount(sum(all).macs)}`);
    expect(text).toContain(`each: output **${one.shape}** · params ${formatCount(one.params)}`);
  });

  it("hovers a layer with its own row of the summary", async () => {
    const dense = summary.layers.find((l) => l.name === "dense")!;
    const text = await hoverText(s, uri, at(xceptionText, "dense classes"));
    expect(text).toContain(`output **${dense.shape.join("x")}**`);
    expect(text).toContain(`params ${formatCount(dense.params)}`);
    expect(text).toContain(`MACs ${formatCount(dense.macs)}`);
  });

  it("hovers the network name with the totals", async () => {
    const text = await hoverText(s, uri, at(xceptionText, "xception(classes", 2));
    expect(text).toContain(`params ${formatCount(summary.params.total)}`);
    expect(text).toContain(`trainable ${formatCount(summary.params.trainable)}`);
    expect(text).toContain(`MACs ${formatCount(summary.macs)}`);
  });

  it("hovers an argument's name and an import", async () => {
    const arg = await hoverText(s, uri, at(xceptionText, "first = true"));
    expect(arg).toBe("parameter `first` of block **entry**, default `false`");
    const imp = await hoverText(s, uri, at(xceptionText, '"std/xception"', 2));
    expect(imp).toMatch(/^`std\/xception` → .*stdlib\/xception\.arch/);
    expect(imp).toMatch(/blocks: .*entry, middle, exit/);
  });

  it("shows the output shape at the end of each layer line", async () => {
    const hints = await s.request<InlayHint[]>("textDocument/inlayHint", {
      textDocument: { uri },
      range: { start: { line: 0, character: 0 }, end: { line: 100, character: 0 } },
    });
    const byLine = new Map(hints.map((h) => [h.position.line, h.label as string]));
    expect(byLine.get(at(xceptionText, "input [size").line)).toBe("→ 299x299x3");
    expect(byLine.get(at(xceptionText, "entry(728").line)).toBe(
      `→ ${sum(under(/^entry_2\//)).shape}`,
    );
    expect(byLine.get(at(xceptionText, "middle(728").line)).toBe("→ 19x19x728 (×8)");
    expect(byLine.get(at(xceptionText, "dense classes").line)).toBe(
      `→ ${summary.output.join("x")}`,
    );
    // The fc branch is not taken with the defaults: no figures for it.
    expect(byLine.has(at(xceptionText, "if fc").line)).toBe(false);
  });

  it("goes to the definition of a block, an import and a parameter", async () => {
    const block = await s.request<Location>("textDocument/definition", {
      textDocument: { uri },
      position: at(xceptionText, "exit(728", 1),
    });
    expect(block.uri).toBe(uriOf(join(repo, "stdlib", "xception.arch")));
    const std = readFileSync(join(repo, "stdlib", "xception.arch"), "utf8");
    expect(block.range.start).toEqual(at(std, "exit(mid_filters"));
    const imp = await s.request<Location>("textDocument/definition", {
      textDocument: { uri },
      position: at(xceptionText, '"std/xception"', 3),
    });
    expect(imp.uri).toBe(uriOf(join(repo, "stdlib", "xception.arch")));
    const param = await s.request<Location>("textDocument/definition", {
      textDocument: { uri },
      position: at(xceptionText, "dense classes", 7),
    });
    expect(param.range.start).toEqual(at(xceptionText, "classes = 1000"));
  });

  it("lists networks and expectations as document symbols", async () => {
    const symbols = await s.request<DocumentSymbol[]>("textDocument/documentSymbol", {
      textDocument: { uri },
    });
    expect(symbols.map((x) => `${x.detail} ${x.name}`)).toEqual([
      "network xception",
      "expectation expect xception",
    ]);
    expect(symbols[0]!.children!.map((c) => c.name)).toContain("parts");
  });

  it("completes layers, blocks with their parameters, arguments and std modules", async () => {
    const complete = (line: number, character: number) =>
      s.request<CompletionItem[]>("textDocument/completion", {
        textDocument: { uri },
        position: { line, character },
      });
    const gap = at(xceptionText, "  gap");
    const elements = await complete(gap.line, 2);
    const labels = elements.map((c) => c.label);
    expect(labels).toEqual(expect.arrayContaining(["conv", "sepconv", "maxpool", "repeat"]));
    const entry = elements.find((c) => c.label === "entry")!;
    expect(entry.detail).toBe(
      "block entry(filters, first = false, parts = depthwise, mid = none, residual = true)",
    );
    expect(entry.insertText).toBe("entry(${1:filters})$0");
    // Inside a block call: the parameters not yet given.
    const call = at(xceptionText, "entry(256, ", 11);
    const args = (await complete(call.line, call.character)).map((c) => c.label);
    expect(args).toEqual(["filters", "first", "parts", "mid", "residual"]);
    // Bare layer arguments, after editing a line to `conv 3x3 64 `.
    await change(s, uri, 2, xceptionText.replace("  gap\n", "  conv 3x3 64 \n"));
    const conv = at(xceptionText, "  gap");
    const attrs = (await complete(conv.line, "  conv 3x3 64 ".length)).map((c) => c.label);
    expect(attrs).toEqual(expect.arrayContaining(["parts", "width", "stride", "dilation"]));
    // Attribute values: `conv 3x3 64 padding=` offers same and valid.
    await change(s, uri, 3, xceptionText.replace("  gap\n", "  conv 3x3 64 padding=\n"));
    const values = (await complete(conv.line, "  conv 3x3 64 padding=".length)).map((c) => c.label);
    expect(values).toEqual(["same", "valid"]);
    await change(s, uri, 4, xceptionText.replace("  gap\n", "  sepconv(3x3, 64, mid = r\n"));
    const mids = (await complete(conv.line, "  sepconv(3x3, 64, mid = r".length)).map(
      (c) => c.label,
    );
    expect(mids).toEqual(expect.arrayContaining(["relu", "elu", "none"]));
    await change(s, uri, 5, xceptionText.replace('import "std/xception"', 'import "std/'));
    const imp = at(xceptionText, 'import "std/xception"');
    const mods = (await complete(imp.line, 'import "std/'.length)).map((c) => c.label);
    expect(mods).toEqual(expect.arrayContaining(["std/xception", "std/units"]));
    await change(s, uri, 6, xceptionText);
  });
});

/** Sends a whole-line-range incremental change replacing the document's text. */
async function change(s: LspSession, uri: string, version: number, text: string, old?: string) {
  const published = s.nextDiagnostics(uri, (p) => p.version === version);
  const prior = old ?? "";
  await s.notify("textDocument/didChange", {
    textDocument: { uri, version },
    contentChanges: old === undefined ? [{ text }] : [{ range: fullRange(prior), text }],
  });
  return published;
}

function fullRange(text: string) {
  const lines = text.split("\n");
  return {
    start: { line: 0, character: 0 },
    end: { line: lines.length - 1, character: lines[lines.length - 1]!.length },
  };
}

describe("archc lsp on the spec library", () => {
  const specs = readdirSync(join(repo, "specs"))
    .filter((f) => f.endsWith(".arch"))
    .map((f) => join(repo, "specs", f));

  it("opens every spec clean, as archc check does, with its network's totals on its name", async () => {
    expect(specs.length).toBeGreaterThan(3);
    const s = await connectInMemory();
    try {
      for (const file of specs) {
        const text = readFileSync(file, "utf8");
        const { uri, diagnostics } = await open(s, file, text);
        expect(fromServer(uri, diagnostics), file).toEqual(await checkJson(file));
        const last = [...text.matchAll(/^network\s+([A-Za-z_]\w*)/gm)].pop();
        if (!last) continue;
        const r = await runCli("summary", file, "--json");
        const hover = await hoverText(s, uri, at(text, last[0], "network ".length));
        if (r.code !== 0) {
          // A network that needs arguments has no figures; the hover says why.
          expect(hover, file).toMatch(/parameters without defaults/);
          continue;
        }
        const summary = JSON.parse(r.stdout) as Summary;
        expect(hover, file).toContain(`params ${formatCount(summary.params.total)}`);
        expect(hover, file).toContain(`output **${summary.output.join("x")}**`);
      }
    } finally {
      await s.close();
    }
  });
});

describe("archc lsp on broken edits", () => {
  const dir = mkdtempSync(join(tmpdir(), "archc-lsp-"));

  it("gives the diagnostics archc check gives, after each edit", async () => {
    const s = await connectInMemory();
    try {
      const path = join(dir, "x.arch");
      const { uri } = await open(s, path, xceptionText);
      const edits = [
        // A partition count that does not divide 256 channels.
        xceptionText.replace("entry(256, parts = parts", "entry(256, parts = 5"),
        // A syntax error: a missing closing brace.
        xceptionText.replace("  dense classes softmax\n}", "  dense classes softmax\n"),
        // An unknown block and a misspelt argument.
        xceptionText.replace("exit(728", "exitt(728").replace("stride = 2", "strid = 2"),
      ];
      let prior = xceptionText;
      let version = 1;
      for (const text of edits) {
        const published = await change(s, uri, ++version, text, prior);
        prior = text;
        writeFileSync(path, text);
        const want = await checkJson(path);
        expect(want.length).toBeGreaterThan(0);
        expect(fromServer(uri, published)).toEqual(want);
      }
      // Fixing the file clears them.
      const fixed = await change(s, uri, ++version, xceptionText, prior);
      expect(fixed.diagnostics).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it("never shows diagnostics of a text that has been edited since", async () => {
    const s = await connectInMemory({ debounceMs: 100 });
    try {
      const path = join(dir, "stale.arch");
      const { uri } = await open(s, path, xceptionText);
      const broken = xceptionText.replace("entry(256, parts = parts", "entry(256, parts = 5");
      await s.notify("textDocument/didChange", {
        textDocument: { uri, version: 2 },
        contentChanges: [{ text: broken }],
      });
      const last = await change(s, uri, 3, xceptionText);
      expect(last.diagnostics).toEqual([]);
      expect(s.published.filter((p) => p.uri === uri).map((p) => p.version)).toEqual([1, 3]);
      // A hover right after an edit answers for the new text, not the last checked one.
      const renamed = xceptionText.replace("dense classes softmax", "dense 10 softmax");
      await s.notify("textDocument/didChange", {
        textDocument: { uri, version: 4 },
        contentChanges: [{ text: renamed }],
      });
      const text = await hoverText(s, uri, at(renamed, "dense 10"));
      expect(text).toContain("output **10**");
    } finally {
      await s.close();
    }
  });

  it("follows imports: an edit to an open imported file re-checks the file importing it", async () => {
    const s = await connectInMemory();
    try {
      const lib = join(dir, "lib.arch");
      const main = join(dir, "main.arch");
      const libText = "block unit(filters) {\n  conv 3x3 filters -> relu\n}\n";
      writeFileSync(lib, libText);
      const mainText =
        'import "./lib"\n\nnetwork net(parts = 4) {\n  input 8x8x8\n  unit(16)\n  gap -> dense 10\n}\n';
      writeFileSync(main, mainText);
      const m = await open(s, main, mainText);
      expect(m.diagnostics.diagnostics).toEqual([]);
      const l = await open(s, lib, libText);
      // An edit not saved to disk: the importing file sees it through the server.
      const rechecked = s.nextDiagnostics(m.uri, (p) => p.diagnostics.length > 0);
      await change(s, l.uri, 2, libText.replace("filters -> relu", "filters parts = 3 -> relu"));
      const d = (await rechecked).diagnostics;
      expect(d).toHaveLength(1);
      // Shown on the call in this file that leads there.
      expect(d[0]!.range.start).toEqual(at(mainText, "unit(16)"));
      expect(d[0]!.message).toMatch(/lib\.arch:2:\d+: .*not divisible by parts = 3/);
      expect(d[0]!.relatedInformation![0]!.location.uri).toBe(l.uri);
      // An imported file that is not open changes on disk: the file importing it sees that.
      await s.notify("textDocument/didClose", { textDocument: { uri: l.uri } });
      const reread = s.nextDiagnostics(m.uri, (p) => p.diagnostics.length === 0);
      writeFileSync(lib, libText);
      await s.notify("workspace/didChangeWatchedFiles", { changes: [{ uri: l.uri, type: 2 }] });
      expect((await reread).diagnostics).toEqual([]);
      const broken = s.nextDiagnostics(m.uri, (p) => p.diagnostics.length > 0);
      writeFileSync(lib, libText.replace("filters -> relu", "filters parts = 5 -> relu"));
      await s.notify("workspace/didChangeWatchedFiles", { changes: [{ uri: l.uri, type: 2 }] });
      expect((await broken).diagnostics[0]!.message).toMatch(/not divisible by parts = 5/);
      writeFileSync(lib, libText);
      // Going to the definition of the block crosses into the imported file.
      const def = await s.request<Location>("textDocument/definition", {
        textDocument: { uri: m.uri },
        position: at(mainText, "unit(16)"),
      });
      expect(def.uri).toBe(l.uri);
    } finally {
      await s.close();
    }
  });

  it("files that import each other are checked once each after an edit, not in turn forever", async () => {
    const s = await connectInMemory();
    try {
      const a = join(dir, "cycle_a.arch");
      const b = join(dir, "cycle_b.arch");
      const aText = 'import "./cycle_b"\nblock ua() {\n  relu\n}\n';
      const bText = 'import "./cycle_a"\nblock ub() {\n  relu\n}\n';
      writeFileSync(a, aText);
      writeFileSync(b, bText);
      const oa = await open(s, a, aText);
      expect(oa.diagnostics.diagnostics.map((d) => d.code)).toEqual(["E0201"]);
      const ob = await open(s, b, bText);
      await change(s, ob.uri, 2, bText.replace("relu", "elu"));
      await new Promise((r) => setTimeout(r, 300));
      const count = s.published.filter((p) => p.uri === oa.uri || p.uri === ob.uri).length;
      // a opened, b opened, a again for b's text; b edited, a again: five at most.
      expect(count).toBeLessThanOrEqual(5);
    } finally {
      await s.close();
    }
  });

  it("formats with the printer of archc fmt, and leaves text that does not parse alone", async () => {
    const s = await connectInMemory();
    try {
      const path = join(dir, "fmt.arch");
      const messy = "network   n( a=1 ){\ninput 8x8x3\n   conv 3x3 8->relu\n gap->dense 2}\n";
      writeFileSync(path, messy);
      const { uri } = await open(s, path, messy);
      const edits = await s.request<TextEdit[]>("textDocument/formatting", {
        textDocument: { uri },
        options: { tabSize: 2, insertSpaces: true },
      });
      const expected = (await runCli("fmt", "--stdout", path)).stdout;
      expect(edits).toHaveLength(1);
      expect(edits[0]!.newText).toBe(expected);
      expect(edits[0]!.range).toEqual(fullRange(messy));
      await change(s, uri, 2, "network n( {\n");
      const none = await s.request<TextEdit[]>("textDocument/formatting", {
        textDocument: { uri },
        options: { tabSize: 2, insertSpaces: true },
      });
      expect(none).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it("resolves parts to group counts, and shows each run of a layer inside a block", async () => {
    const text =
      "block unit(f, parts = regular) {\n  conv 3x3 f parts = parts -> relu\n}\n\n" +
      "network n() {\n  input 8x8x8\n  conv 3x3 8 parts = depthwise\n  unit(16, parts = 4)\n  unit(32, 2)\n}\n";
    const path = join(dir, "parts.arch");
    writeFileSync(path, text);
    const summary = JSON.parse((await runCli("summary", path, "--json")).stdout) as Summary;
    const row = (name: string) => summary.layers.find((l) => l.name === name)!;
    const s = await connectInMemory();
    try {
      const { uri } = await open(s, path, text);
      const depthwise = await hoverText(s, uri, at(text, "conv 3x3 8"));
      expect(depthwise).toContain("parts = `depthwise` → 8 groups");
      expect(await hoverText(s, uri, at(text, "parts = depthwise"))).toMatch(
        /^\*\*conv\*\* `parts`: .*; a partition count, regular or depthwise$/,
      );
      expect(depthwise).toContain(`params ${formatCount(row("conv").params)}`);
      const inBlock = await hoverText(s, uri, at(text, "conv 3x3 f"));
      expect(inBlock).toContain("built 2 times");
      expect(inBlock).toContain(
        `- \`unit/conv (conv 3x3)\`: output **8x8x16** · params ${formatCount(row("unit/conv").params)}`,
      );
      expect(inBlock).toContain("parts = `parts` → 4 groups");
      expect(inBlock).toContain("parts = `parts` → 2 groups");
      const call = await hoverText(s, uri, at(text, "unit(32"));
      expect(call).toContain("parts = `2` → 2 groups");
      const hints = await s.request<InlayHint[]>("textDocument/inlayHint", {
        textDocument: { uri },
        range: { start: { line: 0, character: 0 }, end: { line: 20, character: 0 } },
      });
      expect(hints.find((h) => h.position.line === 1)?.label).toBe("→ 8x8x16 | 8x8x32 (×2)");
    } finally {
      await s.close();
    }
  });

  it("takes figures at the point of the continuum archc.set names, as summary --set does", async () => {
    const text =
      "network c(parts = 1, width) {\n  input 8x8x8\n  conv 3x3 width parts = parts\n}\n";
    const path = join(dir, "continuum.arch");
    writeFileSync(path, text);
    const pos = at(text, "conv 3x3");
    const hoverWith = async (set: string[] | undefined) => {
      const s = await connectInMemory(set ? { set } : {});
      try {
        return await hoverText(s, (await open(s, path, text)).uri, pos);
      } finally {
        await s.close();
      }
    };
    expect(await hoverWith(undefined)).toContain("parameters without defaults (width)");
    const four = await hoverWith(["parts=4", "width=16"]);
    const summary = JSON.parse(
      (await runCli("summary", path, "--set", "parts=4", "--set", "width=16", "--json")).stdout,
    ) as Summary;
    expect(four).toContain("parts = `parts` → 4 groups");
    expect(four).toContain(`params ${formatCount(summary.layers[1]!.params)}`);
    expect(await hoverWith(["parts=3", "width=16"])).toMatch(/does not build: .*not divisible/);
    expect(await hoverWith(["parts=="])).toMatch(/archc.set: /);
  });

  it("takes figures from the network a setting picks, and turns inlay hints off", async () => {
    const two =
      "network a() {\n  input 8x8x3\n  conv 3x3 4\n}\n\nnetwork b() {\n  input 8x8x3\n  conv 3x3 6\n}\n";
    const path = join(dir, "two.arch");
    const picked = await connectInMemory({ network: "a", inlayHints: false });
    const last = await connectInMemory();
    try {
      const p = await open(picked, path, two);
      const l = await open(last, path, two);
      const pos = at(two, "conv 3x3 6");
      expect(await hoverText(last, l.uri, pos)).toContain("output **8x8x6**");
      // b is not the picked network: its layers are not built.
      expect(await hoverText(picked, p.uri, pos)).toContain("figures are shown for network `a`");
      expect(await hoverText(picked, p.uri, at(two, "conv 3x3 4"))).toContain("output **8x8x4**");
      const range = { start: { line: 0, character: 0 }, end: { line: 20, character: 0 } };
      const hints = (c: LspSession, u: string) =>
        c.request<InlayHint[]>("textDocument/inlayHint", { textDocument: { uri: u }, range });
      expect(await hints(picked, p.uri)).toEqual([]);
      expect((await hints(last, l.uri)).map((h) => h.label)).toEqual(["→ 8x8x3", "→ 8x8x6"]);
    } finally {
      await picked.close();
      await last.close();
    }
  });
});

describe("archc lsp as a process", () => {
  it("serves over standard input and output and exits 0 after shutdown and exit", async () => {
    // The installed command (run `npm run build` after changing the compiler), whose checks run
    // in worker threads loaded from dist/. Editors add flags of their own, such as the client's
    // process id.
    const child = spawn(
      process.execPath,
      [join(repo, "bin", "archc.cjs"), "lsp", "--stdio", `--clientProcessId=${process.pid}`],
      { cwd: repo, stdio: ["pipe", "pipe", "inherit"] },
    );
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    const client = createProtocolConnection(
      new StreamMessageReader(child.stdout),
      new StreamMessageWriter(child.stdin),
    );
    client.listen();
    const uri = uriOf(xceptionPath);
    const published = new Promise<PublishDiagnosticsParams>((r) =>
      client.onNotification(PublishDiagnosticsNotification.type, r),
    );
    const init = await client.sendRequest(InitializeRequest.type, {
      processId: null,
      rootUri: null,
      capabilities: {},
    });
    expect(init.capabilities.hoverProvider).toBe(true);
    await client.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: "arch", version: 1, text: xceptionText },
    });
    expect((await published).diagnostics).toEqual([]);
    const h = await client.sendRequest(HoverRequest.type, {
      textDocument: { uri },
      position: at(xceptionText, "dense classes"),
    });
    expect((h!.contents as MarkupContent).value).toContain("output **1000**");
    await client.sendRequest(ShutdownRequest.type);
    await client.sendNotification(ExitNotification.type);
    expect(await exited).toBe(0);
    client.dispose();
  });
});
