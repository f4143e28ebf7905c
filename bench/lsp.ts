/**
 * Editor latency (issue 16): how long after a change to specs/xception.arch the language server
 * publishes its diagnostics, and answers a hover on a block call with figures for the new text.
 * Driven over the real protocol (JSON-RPC through in-memory streams). Goal: under 50 ms.
 * Reported twice: with the server's default debounce (the quiet time it waits for more typing),
 * and with none, which is the cost of the work itself.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { connectInMemory } from "../compiler/cli/lsp/client.js";
import { spawnLsp } from "../compiler/cli/lsp/processClient.js";
import { defaultSettings } from "../compiler/cli/lsp/server.js";
import { packageRoot } from "../compiler/language/paths.js";

const file = join(packageRoot, "specs", "xception.arch");
const text = readFileSync(file, "utf8");
const uri = pathToFileURL(file).href;

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `median ${q(0.5).toFixed(1)} ms, p90 ${q(0.9).toFixed(1)} ms, max ${s[s.length - 1]!.toFixed(1)} ms (${s.length} edits)`;
}

async function measure(debounceMs: number, edits: number) {
  const s = await connectInMemory({ debounceMs });
  const opened = s.nextDiagnostics(uri, (p) => p.version === 1);
  await s.notify("textDocument/didOpen", {
    textDocument: { uri, languageId: "arch", version: 1, text },
  });
  await opened;
  const lines = text.split("\n");
  const hoverAt = { line: lines.findIndex((l) => l.includes("entry(256")), character: 3 };
  const diagnostics: number[] = [];
  const hovers: number[] = [];
  for (let i = 0; i < edits; i++) {
    const version = i + 2;
    // Each edit changes an argument (the dropout rate, which keeps the spec's expectations true),
    // so every check and every hover elaborates the network again.
    const edited = text.replace("dropout = 0.5", `dropout = 0.${(i % 9) + 1}`);
    const t0 = performance.now();
    const published = s.nextDiagnostics(uri, (p) => p.version === version);
    await s.notify("textDocument/didChange", {
      textDocument: { uri, version },
      contentChanges: [{ text: edited }],
    });
    const p = await published;
    diagnostics.push(performance.now() - t0);
    if (p.diagnostics.length)
      throw new Error(`unexpected diagnostics: ${p.diagnostics[0]!.message}`);
    const t1 = performance.now();
    const h = await s.request<{ contents: { value: string } } | null>("textDocument/hover", {
      textDocument: { uri },
      position: hoverAt,
    });
    hovers.push(performance.now() - t1);
    if (!h?.contents.value.includes("params")) throw new Error("hover without figures");
  }
  await s.close();
  return { diagnostics, hovers };
}

export async function runLspBench(): Promise<void> {
  const edits = Number(process.env["LSP_BENCH_EDITS"] ?? 60);
  await measure(0, 10); // warm the JIT
  for (const debounce of [defaultSettings.debounceMs, 0]) {
    const r = await measure(debounce, edits);
    console.log(`xception.arch, debounce ${debounce} ms:`);
    console.log(`  change -> diagnostics published: ${stats(r.diagnostics)}`);
    console.log(`  hover on a block call after it:   ${stats(r.hovers)}`);
    console.log(
      `  change -> diagnostics and hover:  ${stats(r.diagnostics.map((d, i) => d + r.hovers[i]!))}`,
    );
  }
  await runLspProcessBench();
}

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

/**
 * Issue 27: a real `archc lsp` process (bin/archc.cjs, or `ARCHC_LSP_BIN` to compare another
 * installation) is sent a big document and, at once, a hover on a small one. Reports how long
 * the hover waited and when the big document's diagnostics came, then the process's resident
 * memory before the big documents opened and after they closed.
 */
export async function runLspProcessBench(bin = process.env["ARCHC_LSP_BIN"]): Promise<void> {
  const p = spawnLsp(packageRoot, bin ?? join(packageRoot, "bin", "archc.cjs"));
  await p.client.sendRequest("initialize", { processId: null, rootUri: null, capabilities: {} });
  await p.client.sendNotification("initialized", {});
  const small = pathToFileURL(join(packageRoot, "bench-small.arch")).href;
  const first = p.nextDiagnostics(small);
  await p.client.sendNotification("textDocument/didOpen", {
    textDocument: { uri: small, languageId: "arch", version: 1, text },
  });
  await first;
  const lines = text.split("\n");
  const hoverAt = { line: lines.findIndex((l) => l.includes("entry(256")), character: 3 };
  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
  const before = p.rss();
  let peak = before;
  console.log("| big document | hover on another file | its diagnostics after |");
  console.log("| --- | ---: | ---: |");
  for (const [name, bytes] of [
    ["120 KiB", 120 * 1024],
    ["1 MiB", 2 ** 20],
    ["2 MiB", 2 ** 21],
  ] as const) {
    const uri = pathToFileURL(join(packageRoot, `bench-big-${bytes}.arch`)).href;
    const big = bigSpec(bytes);
    const t0 = performance.now();
    const checked = p.nextDiagnostics(uri).then(() => performance.now() - t0);
    await p.client.sendNotification("textDocument/didOpen", {
      textDocument: { uri, languageId: "arch", version: 1, text: big },
    });
    await p.client.sendRequest("textDocument/hover", {
      textDocument: { uri: small },
      position: hoverAt,
    });
    const hovered = performance.now() - t0;
    const diagnosed = await checked;
    peak = Math.max(peak, p.rss());
    await p.client.sendNotification("textDocument/didClose", { textDocument: { uri } });
    console.log(`| ${name} | ${hovered.toFixed(0)} ms | ${diagnosed.toFixed(0)} ms |`);
  }
  // Closing is a notification: give the server a moment to act on it.
  await new Promise((r) => setTimeout(r, 2000));
  console.log(
    `resident memory: ${mb(before)} before the big documents, ${mb(peak)} at most while open, ${mb(p.rss())} 2 s after they closed`,
  );
  await p.close();
}
