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
}
