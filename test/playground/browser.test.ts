/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildModelFromIR } from "../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../compiler/backends/tfjs/runtime.js";
import { ensurePlayground, playgroundDir } from "../../compiler/cli/commands/playground.js";
import { serveStatic } from "../../compiler/cli/serve.js";
import { checkProgram, loadProgram } from "../../compiler/language/program.js";
import { compileSpec } from "../../compiler/index.js";
import { inCI } from "../backends/torch/python.js";
import { runCli } from "../helpers.js";
import type {} from "../../playground/src/api.js";

/**
 * The playground in a real browser: Debian's chromium (apt-get install chromium; CI installs it,
 * .ci/run), driven by playwright-core over the built static folder served on 127.0.0.1. One
 * browser and one page for the whole file; each test leaves the page as the next expects it.
 * Screenshots go to test/.generated/playground/, and to docs/images/playground/ (the README's)
 * with UPDATE_SCREENSHOTS=1.
 */
const chromium = "/usr/bin/chromium";
const root = join(import.meta.dirname, "../..");
const shots = [join(root, "test", ".generated", "playground")];
if (process.env["UPDATE_SCREENSHOTS"]) shots.push(join(root, "docs", "images", "playground"));

let browser: Browser;
let page: Page;
let server: Server;
let url = "";

async function screenshot(name: string): Promise<void> {
  const png = await page.screenshot();
  const { writeFileSync } = await import("node:fs");
  for (const dir of shots) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name}.png`), png);
  }
}

/** The page answers through its worker: on a loaded machine a check of Xception takes seconds. */
const eventually = <T>(fn: () => T | Promise<T>, timeout = 30_000) => expect.poll(fn, { timeout });

const editorText = () => page.evaluate(() => window.archcPlayground.text());

/** Moves the cursor to the end of a 1-based line of the editor. */
async function endOfLine(line: number): Promise<void> {
  await page.evaluate((l) => window.archcPlayground.cursor(l, Number.MAX_SAFE_INTEGER), line);
}

describe.skipIf(!existsSync(chromium) && !inCI)("the playground in chromium", () => {
  beforeAll(async () => {
    expect(existsSync(chromium), "install Debian's chromium: apt-get install chromium").toBe(true);
    // A fresh clone has no build, and an old one may lag the sources: build it then.
    expect(await ensurePlayground()).toBeUndefined();
    ({ server, url } = await serveStatic(playgroundDir));
    const { chromium: launcher } = await import("playwright-core");
    browser = await launcher.launch({ executablePath: chromium, args: ["--no-sandbox"] });
    page = await browser.newPage({ viewport: { width: 1360, height: 820 } });
    await page.goto(url);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  it("opens on Xception and shows the reference count, 22,910,480 params", async () => {
    await eventually(() => page.locator("#params").textContent()).toBe("22,910,480");
    expect(await editorText()).toBe(readFileSync(join(root, "specs/xception.arch"), "utf8"));
    expect(await page.locator("#summary").textContent()).toContain("Total params: 22,910,480");
    // Inlay shapes: the output shape at the end of a layer line.
    expect(await page.locator(".cm-inlay").allTextContents()).toContain("→ 19x19x728");
    await screenshot("summary");
  });

  it("checks in a worker, and measures each keystroke until its diagnostics show", async () => {
    expect(page.workers().map((w) => new URL(w.url()).pathname)).toContain("/assets/worker.js");
    const measured = () =>
      page.evaluate(
        () => performance.getEntriesByName("archc:keystroke-to-diagnostics", "measure").length,
      );
    const before = await measured();
    const checks = await page.evaluate(() => window.archcPlayground.stats.checks);
    await endOfLine(2);
    await page.keyboard.type("x");
    await eventually(measured).toBe(before + 1);
    expect(await page.evaluate(() => window.archcPlayground.stats.checks)).toBeGreaterThan(checks);
    // A keystroke that changes nothing (an arrow) is not measured; the undo is.
    await page.keyboard.press("ArrowLeft");
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("Backspace");
    await eventually(measured).toBe(before + 2);
    expect(await editorText()).toBe(readFileSync(join(root, "specs/xception.arch"), "utf8"));
  });

  it("shows a diagnostic as archc check gives it, at the line where it was typed", async () => {
    await endOfLine(9);
    // One edit, as a paste is: each keystroke would be one more check of Xception.
    await page.keyboard.insertText(" -> conv 3x3 8 parts=5");
    const text = await editorText();
    await eventually(() => page.evaluate(() => window.archcPlayground.diagnostics())).not.toEqual(
      [],
    );
    const shown = await page.evaluate(() => window.archcPlayground.diagnostics());
    // The same diagnostics archc check gives for the same text, read from disk.
    const program = loadProgram(join(root, "specs/xception.arch"), (p) =>
      p.endsWith("specs/xception.arch") ? text : readFileSync(p, "utf8"),
    );
    const expected = checkProgram(program).map((d) => ({
      code: d.code,
      line: d.span.start.line,
      message: d.message,
    }));
    expect(shown).toEqual(expected);
    expect(shown[0]).toMatchObject({ code: "E0400", line: 9 });
    // In the editor: the marked range sits on line 9, and its tooltip has the message and hint.
    const mark = page.locator(".cm-lintRange-error").first();
    const line = await mark.evaluate((el) => {
      const lines = [...document.querySelectorAll(".cm-line")];
      return lines.findIndex((l) => l.contains(el)) + 1;
    });
    expect(line).toBe(9);
    await mark.hover();
    const tip = page.locator(".cm-tooltip-lint");
    await eventually(() => tip.textContent()).toContain("not divisible by parts = 5");
    expect(await tip.textContent()).toContain("help: with 32 input channels");
    await screenshot("diagnostic");
    for (let i = 0; i < " -> conv 3x3 8 parts=5".length; i++)
      await page.keyboard.press("Backspace");
    await eventually(() => page.evaluate(() => window.archcPlayground.diagnostics())).toEqual([]);
  });

  it("hovers a block call with its shape, parts -> groups, params and MACs", async () => {
    await page.mouse.move(0, 0);
    const line = (await editorText()).split("\n").findIndex((l) => l.includes("entry(728")) + 1;
    const at = await page.evaluate((l) => window.archcPlayground.coords(l, 4), line);
    await page.mouse.move(at!.x, at!.y);
    const tip = page.locator(".cm-archc-hover");
    await eventually(() => tip.textContent()).toContain("19x19x728");
    const hover = (await tip.textContent())!;
    expect(hover).toMatch(/params/);
    expect(hover).toMatch(/MACs/);
    expect(hover).toMatch(/groups/);
    await screenshot("hover");
    await page.mouse.move(0, 0);
  });

  it("draws the diagram and the continuum of the network on screen", async () => {
    await page.locator("#tab-diagram").click();
    await eventually(() => page.locator("#diagram svg g.node").count()).toBeGreaterThan(10);
    await screenshot("diagram");
    await page.locator("#tab-continuum").click();
    await eventually(() => page.locator("#axis").inputValue()).toBe("parts");
    // The worker elaborates every value; the table follows.
    await eventually(() =>
      page.locator("#continuum-table td:first-child").last().textContent(),
    ).toBe("depthwise");
    const values = await page.locator("#continuum-table td:first-child").allTextContents();
    const params = await page.locator("#continuum-table td:nth-child(2)").allTextContents();
    // From parts = 1 (regular convolutions, the most parameters) to depthwise (Xception itself).
    expect(values[0]).toBe("1");
    expect(values.at(-1)).toBe("depthwise");
    expect(params.at(-1)).toBe("22,910,480");
    const counts = params.map((p) => Number(p.replace(/,/g, "")));
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    await screenshot("continuum");
    await page.locator("#tab-summary").click();
  });

  it("gives a link that reopens the same spec and settings", async () => {
    await page.locator('input[name="parts"]').fill("8");
    await page.locator('input[name="parts"]').press("Enter");
    await endOfLine(2);
    await page.keyboard.insertText(" — shared ünïcode ✓");
    const text = await editorText();
    await page.locator("#share").click();
    const link = await page.locator("#share-url").inputValue();
    expect(link).toMatch(/#s=/);
    await page.goto("about:blank");
    await page.goto(link);
    await eventually(() => page.evaluate(() => window.archcPlayground.text())).toBe(text);
    await eventually(() => page.evaluate(() => window.archcPlayground.graph()?.args["parts"])).toBe(
      8,
    );
    expect(await page.locator('input[name="parts"]').inputValue()).toBe("8");
    // A damaged link says so and opens the default spec.
    await page.goto("about:blank");
    await page.goto(url + "#s=damaged");
    await eventually(() => page.locator("#notice").textContent()).toContain("damaged");
    await eventually(() => page.evaluate(() => window.archcPlayground.params())).toBe(22_910_480);
  });

  it("runs a forward pass whose output is the one Node's runtime gives for the same weights", async () => {
    await page.locator("#example").selectOption("/specs/mini_xception.arch");
    await eventually(() => page.evaluate(() => window.archcPlayground.graph()?.network)).toBe(
      "mini_xception",
    );
    await page.locator("#tab-run").click();
    await page.locator("#backend").selectOption("wasm");
    await page.locator("#run").click();
    await eventually(() => page.locator("#backend-used").textContent(), 60_000).toBe("wasm");
    await screenshot("run");
    const run = await page.evaluate(() => {
      const r = window.archcPlayground.lastRun()!;
      return {
        weights: r.model
          .getWeights()
          .map((w) => ({ shape: w.shape, values: Array.from(w.dataSync()) })),
        input: { shape: r.input.shape, values: Array.from(r.input.dataSync()) },
        output: r.output,
      };
    });
    await initBackend("wasm");
    const model = buildModelFromIR(compileSpec(join(root, "specs/mini_xception.arch")));
    expect(model.getWeights().map((w) => w.shape)).toEqual(run.weights.map((w) => w.shape));
    model.setWeights(run.weights.map((w) => tf.tensor(w.values, w.shape)));
    const y = model.predict(tf.tensor(run.input.values, run.input.shape)) as tf.Tensor;
    const node = Array.from(y.dataSync()).slice(0, run.output.length);
    expect(run.output.length).toBe(10);
    const diff = Math.max(...node.map((v, i) => Math.abs(v - run.output[i]!)));
    expect(diff).toBeLessThan(1e-4);
    // Not a constant: the outputs differ between classes.
    expect(Math.max(...node) - Math.min(...node)).toBeGreaterThan(1e-6);
  });

  it("falls back from WebGPU and WebGL to what this browser has, and reports what ran", async () => {
    // Headless chromium here has no GPU: what it offers decides the expected backend.
    const offers = await page.evaluate(() => {
      const canvas = document.createElement("canvas");
      return {
        webgpu: "gpu" in navigator,
        webgl: !!(canvas.getContext("webgl2") ?? canvas.getContext("webgl")),
      };
    });
    await page.locator("#backend").selectOption("auto");
    await page.locator("#run-result").evaluate((el) => (el.textContent = ""));
    await page.locator("#run").click();
    await eventually(() => page.locator("#backend-used").textContent(), 60_000).toMatch(/\w/);
    const run = await page.evaluate(() => {
      const r = window.archcPlayground.lastRun()!;
      return { backend: r.backend, passedOver: r.passedOver };
    });
    expect(await page.locator("#backend-used").textContent()).toBe(run.backend);
    expect(run.backend).toBe(offers.webgl ? "webgl" : "wasm");
    expect(run.passedOver[0]).toMatch(/^webgpu: /);
    if (!offers.webgpu) expect(run.passedOver[0]).toContain("no WebGPU");
    if (!offers.webgl) {
      expect(run.passedOver).toContain(
        "webgl: this browser gives no WebGL context (no GPU, or WebGL is turned off)",
      );
      expect(await page.locator("#passed-over").textContent()).toContain("webgl: ");
    }
  });

  it("downloads the TypeScript that archc compile --target ts writes for the same spec", async () => {
    await page.locator("#tab-downloads").click();
    const [download] = await Promise.all([
      page.waitForEvent("download", { timeout: 120_000 }),
      page.locator("#dl-ts").click(),
    ]);
    expect(download.suggestedFilename()).toBe("mini_xception.ts");
    const text = readFileSync((await download.path())!, "utf8");
    const cli = await runCli("compile", "specs/mini_xception.arch", "--target", "ts");
    expect(cli.code).toBe(0);
    expect(text).toBe(cli.stdout);
    expect(text).toContain("export function build(");
  });
});
