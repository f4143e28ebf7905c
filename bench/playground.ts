/// <reference lib="dom" />
/**
 * The playground's budgets (issue 25), measured in Debian's chromium through playwright-core:
 * - what the first visit downloads, gzip-compressed, before any forward pass (budget 500 KB):
 *   what the page requested until it showed Xception's figures, and everything the page and
 *   its worker import statically (the worker's own requests are not the page's), beside the
 *   chunks that load later (tfjs, Graphviz, ONNX, the TypeScript emitter);
 * - how long after a keystroke in a ~200-line spec its diagnostics show (budget 50 ms), as the
 *   page measures it (performance.measure from the keydown to the diagnostics in the editor's
 *   DOM, the check running in the worker), with the machine's load average beside it.
 * `npm run bench -- playground`; builds the playground first when it is stale.
 */
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { ensurePlayground, playgroundDir } from "../compiler/cli/commands/playground.js";
import { serveStatic } from "../compiler/cli/serve.js";
import { packageRoot } from "../compiler/language/paths.js";
import type {} from "../playground/src/api.js";

const chromium = "/usr/bin/chromium";

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const gz = (file: string) => gzipSync(readFileSync(file), { level: 9 }).length;

/**
 * A self-contained spec of about 200 lines: the standard library modules that Xception and
 * Inception V3 use, inlined, then both networks. A keystroke in it is checked as `archc check`
 * checks a file: both networks and the expectations are elaborated again.
 */
function longSpec(): string {
  const read = (p: string) =>
    readFileSync(join(packageRoot, p), "utf8")
      .split("\n")
      .filter((l) => !l.startsWith("import "))
      .join("\n");
  return [
    "stdlib/units.arch",
    "stdlib/inception.arch",
    "stdlib/xception.arch",
    "specs/inception_v3.arch",
    "specs/xception.arch",
  ]
    .map(read)
    .join("\n");
}

function quantiles(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `median ${q(0.5).toFixed(1)} ms, p90 ${q(0.9).toFixed(1)} ms, max ${s.at(-1)!.toFixed(1)} ms (${s.length} keystrokes)`;
}

export async function runPlaygroundBench(): Promise<void> {
  const missing = await ensurePlayground();
  if (missing) throw new Error(missing);
  const { chromium: launcher } = await import("playwright-core");
  const { server, url } = await serveStatic(playgroundDir);
  const browser = await launcher.launch({ executablePath: chromium, args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage({ viewport: { width: 1360, height: 820 } });
    const requested: string[] = [];
    page.on("request", (r) => requested.push(new URL(r.url()).pathname));
    const t0 = Date.now();
    await page.goto(url);
    await page.waitForFunction(() => window.archcPlayground?.params() !== undefined);
    const loadMs = Date.now() - t0;

    const meta = JSON.parse(readFileSync(join(playgroundDir, "meta.json"), "utf8")) as {
      outputs: Record<string, { imports: { path: string; kind: string }[] }>;
    };
    // Initial load: every file the page asked for until it showed Xception's figures, and what
    // the page and the worker import statically.
    const asset = (o: string) => `/assets/${o.split("/").pop()}`;
    const byAsset = new Map(Object.entries(meta.outputs).map(([o, v]) => [asset(o), v]));
    const closure = new Set<string>();
    const visit = (p: string) => {
      if (closure.has(p)) return;
      closure.add(p);
      for (const i of byAsset.get(p)?.imports ?? [])
        if (i.kind === "import-statement") visit(asset(i.path));
    };
    visit("/assets/main.js");
    visit("/assets/worker.js");
    const initial = [...new Set([...requested, ...closure])].filter((p) => !p.startsWith("data:"));
    const file = (p: string) => join(playgroundDir, p === "/" ? "index.html" : p.slice(1));
    const initialGz = initial.reduce((sum, p) => sum + gz(file(p)), 0);
    const tfjsLoaded = initial.some((p) => /forward-/.test(p));
    console.log(`initial load: ${initial.length} files, ${kb(initialGz)} gzip (budget 500 KB)`);
    for (const p of initial) console.log(`  ${p.padEnd(34)} ${kb(gz(file(p))).padStart(10)} gzip`);
    console.log(`  tfjs among them: ${tfjsLoaded ? "yes (over budget by design!)" : "no"}`);
    console.log(`  page showed Xception's figures after ${loadMs} ms`);
    const later = Object.keys(meta.outputs)
      .map((o) => `/assets/${o.split("/").pop()}`)
      .filter((p) => p.endsWith(".js") && !initial.includes(p));
    const big = later
      .map((p) => [p, gz(file(p))] as const)
      .filter(([, n]) => n > 10_000)
      .sort((a, b) => b[1] - a[1]);
    console.log("loaded when asked for (the largest):");
    for (const [p, n] of big) console.log(`  ${p.padEnd(34)} ${kb(n).padStart(10)} gzip`);

    // Keystrokes: each one replaces the digit of Xception's dropout rate, so every check
    // elaborates the network again (the rate keeps its expectations true).
    const text = longSpec();
    const lines = text.split("\n").length;
    await page.evaluate((t) => window.archcPlayground.setText(t), text);
    await page.waitForFunction(() => window.archcPlayground.params() !== undefined);
    const line = text.split("\n").findIndex((l) => l.includes("dropout = 0.5)")) + 1;
    const column = text.split("\n")[line - 1]!.indexOf("dropout = 0.5)") + "dropout = 0.5".length;
    await page.evaluate(([l, c]) => window.archcPlayground.cursor(l!, c! + 1), [line, column]);
    const times: number[] = [];
    const checks: number[] = [];
    const figures: number[] = [];
    const load = loadavg();
    const warm = 5;
    const keystrokes = 50;
    for (let i = 0; i < warm + keystrokes; i++) {
      await page.keyboard.press("Shift+ArrowLeft");
      await page.keyboard.press(String((i % 9) + 1));
      // One keystroke at a time, as a person types: the next after this one's figures showed.
      const r = await page.evaluate(async (n) => {
        const name = "archc:keystroke-to-diagnostics";
        const s = window.archcPlayground.stats;
        const measured = () => performance.getEntriesByName(name, "measure");
        while (measured().length < n || s.figuresAt < measured()[n - 1]!.startTime)
          await new Promise((r) => setTimeout(r, 1));
        const m = measured()[n - 1]!;
        return { ms: m.duration, check: s.checkMs, figures: s.figuresAt - m.startTime };
      }, i + 1);
      // The first few warm the JIT.
      if (i < warm) continue;
      times.push(r.ms);
      checks.push(r.check);
      figures.push(r.figures);
    }
    const loadAfter = loadavg();
    const after = await page.evaluate(() => ({
      diagnostics: window.archcPlayground.diagnostics().length,
      dropout: window.archcPlayground.graph()?.args["dropout"],
    }));
    if (after.diagnostics || after.dropout !== 0.3)
      throw new Error(`the keystrokes missed their place: ${JSON.stringify(after)}`);
    console.log(`keystroke to diagnostics shown, ${lines}-line spec (budget 50 ms):`);
    console.log(`  ${quantiles(times)}`);
    console.log(
      `  load average ${load.map((l) => l.toFixed(2)).join(" ")} before, ${loadAfter.map((l) => l.toFixed(2)).join(" ")} after, on ${cpus().length} cores`,
    );
    console.log(
      `  of which checking in the worker (parse, resolve, elaborate both networks): ${quantiles(checks)}`,
    );
    console.log(
      `keystroke to the figures shown (inlay shapes, totals, summary): ${quantiles(figures)}`,
    );
  } finally {
    await browser.close();
    server.close();
  }
}
