import files from "archc:files";
import type { EditorView } from "@codemirror/view";
import { formatCount, formatMacs, formatSummary } from "../../compiler/backends/summary/summary.js";
import { toDot } from "../../compiler/backends/graph/dot.js";
import type { Point } from "./continuum.js";
import { continuumSvg } from "./chart.js";
import { Checker, StaleAnswer } from "./checker.js";
import { createEditor, formatDocument, setText, showDiagnostics, showInlays } from "./editor.js";
import { escapeHtml } from "./markdown.js";
import type { ArtefactKind, Checked, Figures } from "./protocol.js";
import { saveAs } from "./save.js";
import type { PlaygroundState } from "./session.js";
import { decodeState, encodeState } from "./share.js";
import type { BackendWanted, ForwardResult } from "./forward.js";
import "./api.js";

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};

const panes = ["summary", "diagram", "continuum", "run", "downloads"] as const;
type Pane = (typeof panes)[number];

/** Examples: every spec in specs/, by file name, the paper's two networks first. */
const examples = Object.keys(files)
  .filter((p) => p.startsWith("/specs/"))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
function rank(p: string): number {
  return p.endsWith("/xception.arch") ? 0 : p.endsWith("/inception_v3.arch") ? 1 : 2;
}

let state: PlaygroundState = {
  path: "/specs/xception.arch",
  text: files["/specs/xception.arch"]!,
  set: [],
};
let pane: Pane = "summary";
let axis: string | undefined;
/** The newest text's diagnostics, and its network's figures (which come a little later). */
let current: Checked | undefined;
let figures: Figures | undefined;
let view: EditorView;
/** Timings the benchmark reads: when the text last changed and when its diagnostics showed. */
const stats = { editAt: 0, shownAt: 0, figuresAt: 0, checkMs: 0, checks: 0 };

/**
 * Keystroke to diagnostics, measured in the page: a keydown in the editor that changes the text
 * starts a measure (`archc:keystroke-to-diagnostics`, performance.measure) that ends when the
 * diagnostics of that text, or of a newer one, are in the editor's DOM.
 */
let keyAt: number | undefined;
let typedAt: number | undefined;
const typed = new Map<number, number>();
const keystrokeMeasure = "archc:keystroke-to-diagnostics";

/** Parsing, elaboration and every answer that needs them run in a worker (worker.ts). */
const checker = new Checker(startWorker(), {
  checked(c) {
    current = c;
    showDiagnostics(view, c);
    const now = performance.now();
    for (const [version, at] of typed) {
      if (version > c.version) continue;
      performance.measure(keystrokeMeasure, { start: at, end: now });
      typed.delete(version);
    }
    stats.shownAt = now;
    stats.checkMs = c.ms;
    stats.checks++;
    showStatus(c);
  },
  figures(f) {
    figures = f;
    showInlays(view, f.inlays);
    showTotals(f);
    showNetworkControls(f);
    void renderPane();
    stats.figuresAt = performance.now();
  },
  crashed(error) {
    setStatus(error, "error");
  },
});

function startWorker(): Worker {
  const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  worker.addEventListener("error", (e) =>
    setStatus(`the checker did not start: ${e.message || "its script failed to load"}`, "error"),
  );
  return worker;
}
let lastRun: ForwardResult | undefined;
let points: Point[] = [];

function setStatus(text: string, kind: "ok" | "error" | "busy" = "ok"): void {
  const el = $("status");
  el.textContent = text;
  el.className = `status ${kind}`;
}

/** Sends the text to the checker; its diagnostics, then its figures, show when they come. */
function refresh(): void {
  const version = checker.check(state);
  if (typedAt !== undefined) typed.set(version, typedAt);
  typedAt = undefined;
}

function showStatus(c: Checked): void {
  const errors = c.diagnostics.filter((d) => d.severity !== "warning").length;
  setStatus(
    errors ? `${errors} error${errors > 1 ? "s" : ""}` : `ok · checked in ${c.ms.toFixed(1)} ms`,
    errors ? "error" : "ok",
  );
}

function showTotals(f: Figures): void {
  const t = $("totals");
  if (f.graph) {
    const g = f.graph;
    t.innerHTML = `<b>${escapeHtml(g.network)}</b> <span id="params">${formatCount(g.totals.params.total)}</span> params · ${escapeHtml(formatMacs(g.totals.macs))} MACs · output ${g.nodes.find((n) => n.id === g.output)?.shape.join("x") ?? "?"}`;
  } else t.textContent = f.reason ?? "";
}

/** The network picker and one field per argument (`--set`), rebuilt when the networks change. */
function showNetworkControls(f: Figures): void {
  const nets = f.networks;
  const sel = $<HTMLSelectElement>("network");
  const names = nets.map((n) => n.name);
  if (sel.dataset["names"] !== names.join(",")) {
    sel.dataset["names"] = names.join(",");
    sel.innerHTML = names.map((n) => `<option>${escapeHtml(n)}</option>`).join("");
  }
  const net =
    nets.find((n) => n.name === f.network) ??
    nets.find((n) => n.name === state.network) ??
    nets[nets.length - 1];
  if (net) sel.value = net.name;
  const args = $("args");
  const key = net ? `${net.name}(${net.params.map((p) => p.name).join(",")})` : "";
  if (args.dataset["key"] === key) return;
  args.dataset["key"] = key;
  args.innerHTML = "";
  for (const p of net?.params ?? []) {
    const given = state.set.find((s) => s.startsWith(`${p.name}=`));
    const label = document.createElement("label");
    label.textContent = p.name;
    const input = document.createElement("input");
    input.name = p.name;
    input.size = 7;
    input.value = given ? given.slice(p.name.length + 1) : "";
    input.placeholder = p.default ?? "required";
    input.addEventListener("change", () => {
      const others = state.set.filter((s) => !s.startsWith(`${p.name}=`));
      state = {
        ...state,
        set: input.value.trim() ? [...others, `${p.name}=${input.value.trim()}`] : others,
      };
      points = [];
      refresh();
    });
    label.append(input);
    args.append(label);
  }
}

let diagramKey = "";
async function renderPane(): Promise<void> {
  for (const p of panes) {
    $(`tab-${p}`).classList.toggle("active", p === pane);
    $(`pane-${p}`).hidden = p !== pane;
  }
  const f = figures;
  const g = f?.graph;
  if (pane === "summary") {
    $("summary").textContent = g ? formatSummary(g) : (f?.reason ?? "");
  } else if (pane === "diagram") {
    const el = $("diagram");
    if (!g) {
      el.textContent = f?.reason ?? "";
      diagramKey = "";
      return;
    }
    const mode = $<HTMLSelectElement>("diagram-mode").value as "collapsed" | "expanded";
    const dot = toDot(g, { mode });
    if (dot === diagramKey) return;
    diagramKey = dot;
    el.textContent = "drawing…";
    const { renderSvg } = await import("../../compiler/backends/graph/svg.js");
    const svg = await renderSvg(dot);
    if (diagramKey === dot) el.innerHTML = svg;
  } else if (pane === "continuum") {
    await renderContinuum();
  } else if (pane === "run") {
    $<HTMLButtonElement>("run").disabled = !g;
  }
}

let continuumKey = "";
async function renderContinuum(): Promise<void> {
  const f = figures;
  const sel = $<HTMLSelectElement>("axis");
  const chart = $("chart");
  if (!f?.graph || !f.network) {
    chart.textContent = f?.reason ?? "";
    return;
  }
  const axes = f.axes;
  if (sel.dataset["axes"] !== axes.join(",")) {
    sel.dataset["axes"] = axes.join(",");
    sel.innerHTML = axes.map((a) => `<option>${escapeHtml(a)}</option>`).join("");
  }
  if (!axes.length) {
    chart.textContent = `network ${f.network} has no argument to chart (a flag, a symbol or parts)`;
    return;
  }
  const at = axis && axes.includes(axis) ? axis : axes.includes("parts") ? "parts" : axes[0]!;
  axis = at;
  sel.value = at;
  // Each value is one elaboration of the network: redone only when the spec or settings change.
  const key = JSON.stringify([state.text, state.network, state.set, at]);
  if (key === continuumKey) return;
  continuumKey = key;
  let fresh: Point[];
  try {
    fresh = await checker.ask("continuum", { version: f.version, axis: at });
  } catch (e) {
    // Stale: a newer text is on its way, and its figures draw the chart again.
    if (continuumKey === key) continuumKey = "";
    if (!(e instanceof StaleAnswer)) chart.textContent = (e as Error).message;
    return;
  }
  // A newer chart was asked for meanwhile: it draws.
  if (continuumKey !== key) return;
  // Latencies measured for the same values stay until the spec changes them.
  for (const p of fresh) {
    const old = points.find(
      (q) => q.label === p.label && q.params === p.params && q.macs === p.macs,
    );
    if (old?.latencyMs !== undefined) p.latencyMs = old.latencyMs;
  }
  points = fresh;
  chart.innerHTML = continuumSvg(at, points);
  $("continuum-table").innerHTML = continuumRows(at, points);
}

function continuumRows(axis: string, points: readonly Point[]): string {
  return (
    `<tr><th>${escapeHtml(axis)}</th><th>params</th><th>MACs</th><th>latency</th></tr>` +
    points
      .map(
        (p) =>
          `<tr><td>${escapeHtml(p.label)}</td><td>${formatCount(p.params)}</td><td>${escapeHtml(formatMacs(p.macs))}</td><td>${p.latencyMs === undefined ? "" : `${p.latencyMs.toFixed(1)} ms`}</td></tr>`,
      )
      .join("")
  );
}

async function runForward(): Promise<void> {
  const g = figures?.graph;
  if (!g) return;
  const out = $("run-result");
  out.textContent = "loading tfjs…";
  try {
    const { forwardPass } = await import("./forward.js");
    out.textContent = "running…";
    const backend = $<HTMLSelectElement>("backend").value as BackendWanted;
    const batch = Number($<HTMLInputElement>("batch").value) || 1;
    lastRun = await forwardPass(g, { backend, batch });
    const top = [...lastRun.output.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
    out.innerHTML =
      `<p><b id="latency">${lastRun.latencyMs.toFixed(2)} ms</b> per forward pass (batch ${lastRun.batch}, median of ${lastRun.runs}) on <b id="backend-used">${escapeHtml(lastRun.backend)}</b></p>` +
      (lastRun.passedOver.length
        ? `<p id="passed-over">passed over: ${lastRun.passedOver.map(escapeHtml).join("; ")}</p>`
        : "") +
      `<p>output of the first example (${lastRun.output.length} values, random weights and input), largest:</p>` +
      `<table>${top.map(([i, v]) => `<tr><td>${i}</td><td>${v.toFixed(6)}</td></tr>`).join("")}</table>`;
  } catch (e) {
    out.textContent = `the forward pass failed: ${(e as Error).message}`;
  }
}

async function measureLatency(): Promise<void> {
  const f = figures;
  if (!f?.network || !axis || !points.length) return;
  const { forwardPass } = await import("./forward.js");
  const backend = $<HTMLSelectElement>("backend").value as BackendWanted;
  for (const p of points) {
    setStatus(`timing ${axis}=${p.label}…`, "busy");
    let graph;
    try {
      graph = await checker.ask("variant", { version: f.version, axis, value: p.value });
    } catch (e) {
      setStatus(
        e instanceof StaleAnswer
          ? "the spec changed while timing: measure again"
          : (e as Error).message,
        "error",
      );
      return;
    }
    if (!graph) continue;
    p.latencyMs = (await forwardPass(graph, { backend })).latencyMs;
    $("chart").innerHTML = continuumSvg(axis, points);
  }
  $("continuum-table").innerHTML = continuumRows(axis, points);
  setStatus("latency measured", "ok");
}

async function download(kind: ArtefactKind): Promise<void> {
  const f = figures;
  if (!f?.graph) return;
  setStatus(`writing ${kind}…`, "busy");
  try {
    saveAs(await checker.ask("artefact", { version: f.version, kind }));
    setStatus(`wrote ${kind}`, "ok");
  } catch (e) {
    setStatus(
      e instanceof StaleAnswer
        ? "the spec changed while writing: download again"
        : `cannot write ${kind}: ${(e as Error).message}`,
      "error",
    );
  }
}

function share(): string {
  const url = new URL(location.href);
  url.hash = encodeState({ ...state, pane, axis });
  history.replaceState(null, "", url);
  const field = $<HTMLInputElement>("share-url");
  field.value = url.href;
  field.hidden = false;
  field.select();
  void navigator.clipboard?.writeText(url.href).catch(() => undefined);
  return url.href;
}

function loadExample(path: string): void {
  $("notice").textContent = "";
  state = { path, text: files[path]!, set: [] };
  points = [];
  axis = undefined;
  setText(view, state.text);
  history.replaceState(null, "", location.pathname);
}

function start(): void {
  const shared = decodeState(location.hash);
  if (shared && "error" in shared)
    $("notice").textContent = `this link cannot be opened: ${shared.error}`;
  else if (shared) {
    state = { path: shared.path, text: shared.text, network: shared.network, set: shared.set };
    if (panes.includes(shared.pane as Pane)) pane = shared.pane as Pane;
    axis = shared.axis;
  }
  const ex = $<HTMLSelectElement>("example");
  ex.innerHTML = examples
    .map(
      (p) =>
        `<option value="${escapeHtml(p)}">${escapeHtml(p.slice("/specs/".length, -".arch".length))}</option>`,
    )
    .join("");
  ex.value = examples.includes(state.path) ? state.path : "";
  ex.addEventListener("change", () => loadExample(ex.value));
  let pending = false;
  view = createEditor($("editor"), state.text, {
    onChange(text) {
      state = { ...state, text };
      stats.editAt = performance.now();
      typedAt ??= keyAt;
      keyAt = undefined;
      // One check per batch of changes; a microtask runs before the browser paints again.
      if (pending) return;
      pending = true;
      queueMicrotask(() => {
        pending = false;
        refresh();
      });
    },
    hover: (position) => checker.ask("hover", { version: checker.newest, position }),
    complete: (text, position) => checker.ask("complete", { text, position }),
    format: (text) => checker.ask("format", { text }),
  });
  // Capture: the editor handles the key (and changes the text) in its own keydown listener.
  view.contentDOM.addEventListener("keydown", () => (keyAt = performance.now()), true);
  $("network").addEventListener("change", (e) => {
    state = { ...state, network: (e.target as HTMLSelectElement).value, set: [] };
    points = [];
    refresh();
  });
  for (const p of panes)
    $(`tab-${p}`).addEventListener("click", () => {
      pane = p;
      void renderPane();
    });
  $("diagram-mode").addEventListener("change", () => void renderPane());
  $("axis").addEventListener("change", (e) => {
    axis = (e.target as HTMLSelectElement).value;
    void renderContinuum();
  });
  $("format").addEventListener("click", () => {
    void formatDocument(view, (text) => checker.ask("format", { text })).then((ok) => {
      if (!ok) setStatus("the spec does not parse: fix its errors to format it", "error");
    });
  });
  $("share").addEventListener("click", share);
  $("run").addEventListener("click", () => void runForward());
  $("measure").addEventListener("click", () => void measureLatency());
  for (const k of ["json", "torch", "onnx", "ts"] as const)
    $(`dl-${k}`).addEventListener("click", () => void download(k));
  refresh();
}

window.archcPlayground = {
  stats,
  text: () => view.state.doc.toString(),
  params: () => figures?.graph?.totals.params.total,
  diagnostics: () =>
    (current?.diagnostics ?? []).map((d) => ({
      code: d.code,
      line: d.span.start.line,
      message: d.message,
    })),
  lastRun: () => lastRun,
  graph: () => figures?.graph,
  share,
  setText: (text) => setText(view, text),
  cursor(line, column) {
    const l = view.state.doc.line(line);
    view.dispatch({ selection: { anchor: Math.min(l.from + column - 1, l.to) } });
    view.focus();
  },
  coords(line, column) {
    const r = view.coordsAtPos(view.state.doc.line(line).from + column - 1);
    return r ? { x: (r.left + r.right) / 2 + 2, y: (r.top + r.bottom) / 2 } : undefined;
  },
};

start();
