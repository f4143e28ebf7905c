import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  createConnection,
  DiagnosticSeverity,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
  type Connection,
  type Diagnostic as LspDiagnostic,
  type InitializeResult,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import type { Diagnostic } from "../../../grammar/diagnostic.js";
import { readSource } from "../../language/defaultHost.js";
import { importTarget } from "../../language/load.js";
import { formatSource } from "../commands/fmt.js";
import { absOf, analyse, type Analysis } from "../../services/analysis.js";
import { complete } from "../../services/completion.js";
import { hover } from "../../services/hover.js";
import { inlayHints } from "../../services/inlay.js";
import { rangeOf } from "../../services/positions.js";
import { documentSymbols } from "../../services/symbols.js";
import { definition } from "./definition.js";

/** The `archc.*` settings an editor may send (initialization options or configuration). */
export interface Settings {
  /** The network hovers and inlay hints take figures from; default the file's last. */
  readonly network?: string;
  /** Network arguments for the figures, `name=value` as `archc summary --set` takes them. */
  readonly set?: readonly string[];
  /** Output shapes at the end of layer lines. */
  readonly inlayHints: boolean;
  /** Quiet time after a change before the file is checked again. */
  readonly debounceMs: number;
}

export const defaultSettings: Settings = { inlayHints: true, debounceMs: 15 };

function readSettings(raw: unknown, prior: Settings): Settings {
  if (!raw || typeof raw !== "object") return prior;
  const r = raw as Record<string, unknown>;
  const network = typeof r["network"] === "string" && r["network"] ? r["network"] : undefined;
  const set = Array.isArray(r["set"])
    ? r["set"].filter((x): x is string => typeof x === "string" && x.trim() !== "")
    : prior.set;
  return {
    ...(network !== undefined ? { network } : {}),
    ...(set?.length ? { set } : {}),
    inlayHints: typeof r["inlayHints"] === "boolean" ? r["inlayHints"] : prior.inlayHints,
    debounceMs:
      typeof r["debounceMs"] === "number" && r["debounceMs"] >= 0
        ? r["debounceMs"]
        : prior.debounceMs,
  };
}

function pathOf(uri: string): string {
  // Unsaved buffers have no path; they are checked as if they lay in the working directory.
  return uri.startsWith("file:") ? fileURLToPath(uri) : resolve(uri.replace(/[^\w.-]+/g, "_"));
}

/**
 * Serves one editor over `connection`: a document is checked when it opens and again after each
 * pause in typing (`debounceMs`), together with every open document that imports it. Results
 * carry the version they were computed for and are dropped if the text has moved on since.
 */
export function startServer(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  const analyses = new Map<string, Analysis>();
  const timers = new Map<string, NodeJS.Timeout>();
  let settings = defaultSettings;
  let canRefreshHints = false;

  const read = (absPath: string): string => {
    const open = documents.get(pathToFileURL(absPath).href);
    // Files on disk are read as the CLI reads them: regular files only, and not without limit.
    return open ? open.getText() : readSource(absPath);
  };

  /** The analysis of the document's current text, computed now if it is not there yet. */
  const current = (uri: string): Analysis | undefined => {
    const doc = documents.get(uri);
    if (!doc) return undefined;
    const known = analyses.get(uri);
    if (known && known.version === doc.version) return known;
    return run(uri);
  };

  /** Checks the document now; after an edit to it (`edited`), the open files importing it too. */
  const run = (uri: string, edited = true): Analysis | undefined => {
    const timer = timers.get(uri);
    if (timer) clearTimeout(timer);
    timers.delete(uri);
    const doc = documents.get(uri);
    if (!doc) return undefined;
    let a: Analysis;
    try {
      a = analyse(pathOf(uri), doc.version, doc.getText(), read, settings);
    } catch (e) {
      // Bad input is reported as diagnostics; this is archc's own fault. The server stays up.
      analyses.delete(uri);
      const message = e instanceof Error ? e.message.split("\n")[0] : String(e);
      const zero = { line: 0, character: 0 };
      void connection.sendDiagnostics({
        uri,
        version: doc.version,
        diagnostics: [
          {
            range: { start: zero, end: zero },
            severity: DiagnosticSeverity.Error,
            source: "archc",
            message: `archc: internal error: ${message} (please report this with the spec that caused it)`,
          },
        ],
      });
      return undefined;
    }
    analyses.set(uri, a);
    publish(uri, a);
    // Open files that import this one see its new text (once: files that import each other
    // must not check each other in turn forever).
    if (edited) {
      for (const [other, b] of analyses) {
        if (other !== uri && b.modules.includes(a.absPath)) schedule(other, 0, false);
      }
    }
    return a;
  };

  const schedule = (uri: string, delay = settings.debounceMs, edited = true): void => {
    const prior = timers.get(uri);
    // An edit of its own is pending: that check will see the imported file's new text too.
    if (prior && !edited) return;
    if (prior) clearTimeout(prior);
    timers.set(
      uri,
      setTimeout(() => {
        timers.delete(uri);
        const doc = documents.get(uri);
        const known = analyses.get(uri);
        // The text this was for may be gone, or checked already (a hover flushed it).
        if (!doc || (known && known.version === doc.version && edited)) return;
        run(uri, edited);
      }, delay),
    );
  };

  const publish = (uri: string, a: Analysis): void => {
    if (documents.get(uri)?.version !== a.version) return;
    void connection.sendDiagnostics({
      uri,
      version: a.version,
      diagnostics: a.diagnostics.map((d) => toLsp(a, d)),
    });
  };

  connection.onInitialize((params): InitializeResult => {
    settings = readSettings(
      (params.initializationOptions as { archc?: unknown } | undefined)?.archc ??
        params.initializationOptions,
      settings,
    );
    canRefreshHints = !!params.capabilities.workspace?.inlayHint?.refreshSupport;
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        definitionProvider: true,
        completionProvider: { triggerCharacters: ["(", ",", " ", '"', "/"] },
        documentFormattingProvider: true,
        documentSymbolProvider: true,
        inlayHintProvider: true,
      },
      serverInfo: { name: "archc", version: "0.1.0" },
    };
  });

  connection.onDidChangeConfiguration((change) => {
    const raw = (change.settings as { archc?: unknown } | undefined)?.archc;
    const next = readSettings(raw, settings);
    if (JSON.stringify(next) === JSON.stringify(settings)) return;
    settings = next;
    // Another network changes every hover and hint; analyses are cheap to redo.
    analyses.clear();
    for (const doc of documents.all()) run(doc.uri, false);
    if (canRefreshHints) void connection.languages.inlayHint.refresh();
  });

  // A file saved or changed on disk (not open here): the open files importing it see it now.
  connection.onDidChangeWatchedFiles((e) => {
    const changed = new Set(e.changes.map((c) => pathOf(c.uri)));
    for (const [uri, a] of analyses) {
      if (a.modules.some((m) => m !== a.absPath && changed.has(m))) schedule(uri, 0, false);
    }
  });

  documents.onDidOpen((e) => void run(e.document.uri));
  documents.onDidChangeContent((e) => {
    const known = analyses.get(e.document.uri);
    if (!known || known.version !== e.document.version) schedule(e.document.uri);
  });
  documents.onDidClose((e) => {
    const timer = timers.get(e.document.uri);
    if (timer) clearTimeout(timer);
    timers.delete(e.document.uri);
    analyses.delete(e.document.uri);
    void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
    // Its unsaved text is gone: files importing it read it from disk again.
    const closed = pathOf(e.document.uri);
    for (const [uri, a] of analyses) if (a.modules.includes(closed)) schedule(uri, 0, false);
  });

  connection.onHover((p) => {
    const a = current(p.textDocument.uri);
    return a ? hover(a, p.position) : null;
  });
  connection.onDefinition((p) => {
    const a = current(p.textDocument.uri);
    return a ? definition(a, p.position) : null;
  });
  connection.onCompletion((p) => {
    const doc = documents.get(p.textDocument.uri);
    if (!doc) return [];
    // The last analysis knows the blocks; the text itself may be half a word ahead of it.
    return complete(
      analyses.get(p.textDocument.uri) ?? current(p.textDocument.uri),
      doc.getText(),
      p.position,
    );
  });
  connection.onDocumentFormatting((p) => {
    const doc = documents.get(p.textDocument.uri);
    if (!doc) return null;
    const text = doc.getText();
    const r = formatSource(pathOf(p.textDocument.uri), text);
    // Text that does not parse is left alone; its diagnostics say why.
    if (r.text === undefined || r.text === text) return [];
    return [
      {
        range: { start: { line: 0, character: 0 }, end: doc.positionAt(text.length) },
        newText: r.text,
      },
    ];
  });
  connection.onDocumentSymbol((p) => {
    const a = current(p.textDocument.uri);
    return a ? documentSymbols(a) : [];
  });
  connection.languages.inlayHint.on((p) => {
    if (!settings.inlayHints) return [];
    const a = current(p.textDocument.uri);
    return a ? inlayHints(a, p.range) : [];
  });

  documents.listen(connection);
  connection.listen();
}

/**
 * One archc diagnostic for the editor. A problem inside an imported file is shown on the call
 * or the import in this file that leads to it, naming the place, since that file may not be open.
 */
function toLsp(a: Analysis, d: Diagnostic): LspDiagnostic {
  const root = a.program.loaded.root;
  const inRoot = root !== undefined && d.span.file === root.file;
  const message = d.hint ? `${d.message}\nhelp: ${d.hint}` : d.message;
  const related = (d.notes ?? [])
    .filter((n) => n.span)
    .map((n) => ({
      location: { uri: pathToFileURL(absOf(a, n.span!.file)).href, range: rangeOf(n.span!) },
      message: n.message,
    }));
  const base = {
    severity: d.severity === "error" ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    code: d.code,
    source: "archc",
  };
  if (inRoot) {
    return {
      ...base,
      range: rangeOf(d.span),
      message,
      ...(related.length ? { relatedInformation: related } : {}),
    };
  }
  const where = `${d.span.file}:${d.span.start.line}:${d.span.start.column}`;
  // Inside a block of another file: the innermost call in this file, else the import.
  const call = (d.notes ?? []).find((n) => n.span && n.span.file === root?.file)?.span;
  const via = call ? rangeOf(call) : root ? viaImport(a, d.span.file) : undefined;
  const zero = { line: 0, character: 0 };
  return {
    ...base,
    range: via ?? { start: zero, end: zero },
    message: `${where}: ${message}`,
    relatedInformation: [
      {
        location: { uri: pathToFileURL(absOf(a, d.span.file)).href, range: rangeOf(d.span) },
        message: d.message,
      },
      ...related,
    ],
  };
}

/** The root file's import through which a module was reached (modules load depth first). */
function viaImport(a: Analysis, file: string) {
  const root = a.program.loaded.root!;
  const modules = a.program.loaded.modules;
  const index = modules.findIndex((m) => m.file === file);
  if (index < 0) return undefined;
  let best: { at: number; range: ReturnType<typeof rangeOf> } | undefined;
  for (const imp of root.program.imports) {
    const target = importTarget(imp.path.value, root.absPath);
    const at = modules.findIndex((m) => m.absPath === target);
    if (at >= 0 && at <= index && (!best || at > best.at)) best = { at, range: rangeOf(imp.span) };
  }
  return best?.range;
}

/** `archc lsp`: serves over standard input and output until the editor says exit. */
export function lspCommand(): Promise<number> {
  // Standard output carries the protocol; anything logged goes to standard error instead.
  console.log = console.info = console.error;
  const connection = createConnection(ProposedFeatures.all, process.stdin, process.stdout);
  startServer(connection);
  // The connection ends the process on `exit` (or when the editor goes away).
  return new Promise<number>(() => {});
}
