import files from "archc:files";
import type { EditorView } from "@codemirror/view";
import { formatCount, formatMacs, formatSummary } from "../../compiler/backends/summary/summary.js";
import { toDot } from "../../compiler/backends/graph/dot.js";
import { chartableAxes, continuum, type Point } from "./continuum.js";
import { continuumSvg } from "./chart.js";
import { irJson, onnxModel, saveAs, torchSource, type Artefact } from "./downloads.js";
import { createEditor, formatDocument, setText, showDiagnostics, showInlays } from "./editor.js";
import { escapeHtml } from "./markdown.js";
import { check, networksOf, type Checked, type PlaygroundState } from "./session.js";
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
let current: Checked | undefined;
let view: EditorView;
/** Timings the benchmark reads: when the text last changed and when its diagnostics showed. */
const stats = { editAt: 0, shownAt: 0, figuresAt: 0, checkMs: 0, checks: 0 };
let lastRun: ForwardResult | undefined;
let points: Point[] = [];

function setStatus(text: string, kind: "ok" | "error" | "busy" = "ok"): void {
  const el = $("status");
  el.textContent = text;
  el.className = `status ${kind}`;
}

/**
 * Checks the text now and shows its diagnostics; the network's figures (inlay shapes, totals,
 * panes) follow in the next task, so the diagnostics of a keystroke never wait for them.
 */
function refresh(): void {
  const c = check(state);
  current = c;
  showDiagnostics(view, c.analysis, c.analysis.program.loaded.root?.file ?? "");
  stats.shownAt = performance.now();
  stats.checkMs = c.ms;
  stats.checks++;
  setTimeout(() => {
    if (current !== c) return;
    showInlays(view, c.analysis);
    showTotals(c);
    showNetworkControls(c);
    void renderPane();
    stats.figuresAt = performance.now();
  });
}

function showTotals(c: Checked): void {
  const errors = c.diagnostics.filter((d) => d.severity !== "warning").length;
  const t = $("totals");
  if (c.graph) {
    const g = c.graph;
    t.innerHTML = `<b>${escapeHtml(g.network)}</b> <span id="params">${formatCount(g.totals.params.total)}</span> params · ${escapeHtml(formatMacs(g.totals.macs))} MACs · output ${g.nodes.find((n) => n.id === g.output)?.shape.join("x") ?? "?"}`;
  } else t.textContent = c.reason ?? "";
  setStatus(
    errors ? `${errors} error${errors > 1 ? "s" : ""}` : `ok · checked in ${c.ms.toFixed(1)} ms`,
    errors ? "error" : "ok",
  );
}

/** The network picker and one field per argument (`--set`), rebuilt when the networks change. */
function showNetworkControls(c: Checked): void {
  const nets = networksOf(c);
  const sel = $<HTMLSelectElement>("network");
  const names = nets.map((n) => n.name.name);
  if (sel.dataset["names"] !== names.join(",")) {
    sel.dataset["names"] = names.join(",");
    sel.innerHTML = names.map((n) => `<option>${escapeHtml(n)}</option>`).join("");
  }
  const net = c.network ?? nets.find((n) => n.name.name === state.network) ?? nets[nets.length - 1];
  if (net) sel.value = net.name.name;
  const args = $("args");
  const key = net ? `${net.name.name}(${net.params.map((p) => p.name.name).join(",")})` : "";
  if (args.dataset["key"] === key) return;
  args.dataset["key"] = key;
  args.innerHTML = "";
  for (const p of net?.params ?? []) {
    const given = state.set.find((s) => s.startsWith(`${p.name.name}=`));
    const label = document.createElement("label");
    label.textContent = p.name.name;
    const input = document.createElement("input");
    input.name = p.name.name;
    input.size = 7;
    input.value = given ? given.slice(p.name.name.length + 1) : "";
    input.placeholder = p.default
      ? view.state.doc.sliceString(p.default.span.start.offset, p.default.span.end.offset)
      : "required";
    input.addEventListener("change", () => {
      const others = state.set.filter((s) => !s.startsWith(`${p.name.name}=`));
      state = {
        ...state,
        set: input.value.trim() ? [...others, `${p.name.name}=${input.value.trim()}`] : others,
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
  const c = current;
  const g = c?.graph;
  if (pane === "summary") {
    $("summary").textContent = g ? formatSummary(g) : (c?.reason ?? "");
  } else if (pane === "diagram") {
    const el = $("diagram");
    if (!g) {
      el.textContent = c?.reason ?? "";
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
    renderContinuum();
  } else if (pane === "run") {
    $<HTMLButtonElement>("run").disabled = !g;
  }
}

let continuumKey = "";
function renderContinuum(): void {
  const c = current;
  const sel = $<HTMLSelectElement>("axis");
  const chart = $("chart");
  if (!c?.graph || !c.network) {
    chart.textContent = c?.reason ?? "";
    return;
  }
  const program = c.analysis.program;
  const axes = chartableAxes(c.network);
  if (sel.dataset["axes"] !== axes.join(",")) {
    sel.dataset["axes"] = axes.join(",");
    sel.innerHTML = axes.map((a) => `<option>${escapeHtml(a)}</option>`).join("");
  }
  if (!axes.length) {
    chart.textContent = `network ${c.network.name.name} has no argument to chart (a flag, a symbol or parts)`;
    return;
  }
  axis = axis && axes.includes(axis) ? axis : axes.includes("parts") ? "parts" : axes[0]!;
  sel.value = axis;
  // Each value is one elaboration of the network: redone only when the spec or settings change.
  const key = JSON.stringify([state.text, state.network, state.set, axis]);
  if (key === continuumKey) return;
  continuumKey = key;
  const fresh = continuum(program, c.network, axis, state.set);
  // Latencies measured for the same values stay until the spec changes them.
  for (const p of fresh) {
    const old = points.find(
      (q) => q.label === p.label && q.params === p.params && q.macs === p.macs,
    );
    if (old?.latencyMs !== undefined) p.latencyMs = old.latencyMs;
  }
  points = fresh;
  chart.innerHTML = continuumSvg(axis, points);
  $("continuum-table").innerHTML = continuumRows(axis, points);
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
  const g = current?.graph;
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
      `<p>output of the first example (${lastRun.output.length} values, random weights and input), largest:</p>` +
      `<table>${top.map(([i, v]) => `<tr><td>${i}</td><td>${v.toFixed(6)}</td></tr>`).join("")}</table>`;
  } catch (e) {
    out.textContent = `the forward pass failed: ${(e as Error).message}`;
  }
}

async function measureLatency(): Promise<void> {
  const c = current;
  if (!c?.network || !axis || !points.length) return;
  const { forwardPass } = await import("./forward.js");
  const { buildNetwork, parseSets } = await import("../../compiler/language/program.js");
  const { boundArg } = await import("../../compiler/language/variant.js");
  const { syntheticSpan } = await import("../../grammar/span.js");
  const backend = $<HTMLSelectElement>("backend").value as BackendWanted;
  const base = parseSets(state.set).args.filter((a) => a.name !== axis);
  for (const p of points) {
    setStatus(`timing ${axis}=${p.label}…`, "busy");
    const r = buildNetwork(c.analysis.program, c.network, [
      ...base,
      boundArg(axis, p.value, syntheticSpan(axis)),
    ]);
    if (!r.ok) continue;
    p.latencyMs = (await forwardPass(r.graph, { backend })).latencyMs;
    $("chart").innerHTML = continuumSvg(axis, points);
  }
  $("continuum-table").innerHTML = continuumRows(axis, points);
  setStatus("latency measured", "ok");
}

async function download(kind: "json" | "torch" | "onnx"): Promise<void> {
  const c = current;
  if (!c?.graph || !c.network) return;
  try {
    const a: Artefact =
      kind === "json"
        ? await irJson(c.graph)
        : kind === "torch"
          ? await torchSource(
              c.graph,
              c.analysis.program,
              c.network,
              state.set,
              state.path.slice(1),
            )
          : await onnxModel(c.graph);
    saveAs(a);
  } catch (e) {
    setStatus(`cannot write ${kind}: ${(e as Error).message}`, "error");
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
      // One check per batch of changes; a microtask runs before the browser paints again.
      if (pending) return;
      pending = true;
      queueMicrotask(() => {
        pending = false;
        refresh();
      });
    },
    analysis: () => current?.analysis,
  });
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
    renderContinuum();
  });
  $("format").addEventListener("click", () => {
    if (!formatDocument(view))
      setStatus("the spec does not parse: fix its errors to format it", "error");
  });
  $("share").addEventListener("click", share);
  $("run").addEventListener("click", () => void runForward());
  $("measure").addEventListener("click", () => void measureLatency());
  for (const k of ["json", "torch", "onnx"] as const)
    $(`dl-${k}`).addEventListener("click", () => void download(k));
  refresh();
}

window.archcPlayground = {
  stats,
  text: () => view.state.doc.toString(),
  params: () => current?.graph?.totals.params.total,
  diagnostics: () =>
    (current?.diagnostics ?? []).map((d) => ({
      code: d.code,
      line: d.span.start.line,
      message: d.message,
    })),
  lastRun: () => lastRun,
  graph: () => current?.graph,
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
