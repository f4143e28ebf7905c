import {
  createConnection,
  DiagnosticSeverity,
  ErrorCodes,
  ProposedFeatures,
  ResponseError,
  TextDocuments,
  TextDocumentSyncKind,
  type CompletionItem,
  type Connection,
  type DocumentSymbol,
  type Hover,
  type InlayHint,
  type Location,
  type Position,
  type Range,
  type TextEdit,
  type InitializeResult,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import { limits } from "../../../grammar/limits.js";
import { inlineHost, workerHost, type Host, type OnDiagnostics } from "./hosts.js";
import type { Content, RequestMethod } from "./service.js";
import { defaultSettings, readSettings } from "./settings.js";
import { documentPath } from "./uris.js";

export { defaultSettings, type Settings } from "./settings.js";

export interface ServerOptions {
  /**
   * Check documents in worker threads, one per open document up to `maxWorkers` (then they
   * share), so that a request about one document never waits for the check of another, and
   * closing a document gives its memory back. Without, everything runs in the server's thread.
   */
  readonly workers: boolean;
  readonly maxWorkers?: number;
}

/**
 * Serves one editor over `connection`. This thread holds the protocol and the documents' text;
 * the checks and the answers about a document come from the host (worker) it was given when it
 * opened. Each host is told the text of every open document, so imports of unsaved text resolve.
 */
export function startServer(
  connection: Connection,
  options: ServerOptions = { workers: false },
): void {
  const documents = new TextDocuments(TextDocument);
  const hosts: Host[] = [];
  const hostOf = new Map<string, Host>();
  const maxHosts = options.workers ? (options.maxWorkers ?? 8) : 1;
  let settings = defaultSettings;
  let canRefreshHints = false;
  let initialized = false;

  const publish: OnDiagnostics = (m) => {
    // Diagnostics of a text that has been edited since, or closed, are not shown.
    if (documents.get(m.uri)?.version !== m.version) return;
    // A check that ends after the client has gone (the connection closed or disposed) has no one
    // to tell: the send throws, synchronously or as a rejection, and is dropped, not crashed on.
    try {
      connection
        .sendDiagnostics({ uri: m.uri, version: m.version, diagnostics: [...m.diagnostics] })
        .catch(() => undefined);
    } catch {
      // the connection is closed
    }
  };

  /** What a host is told of a document: its text, or only its size when over the limit. */
  const contentOf = (doc: TextDocument): Content => {
    const text = doc.getText();
    const bytes = Buffer.byteLength(text, "utf8");
    return bytes > limits.specBytes ? { bytes } : { text };
  };

  /** A host told the settings and every open document's text but `forUri`'s, which follows. */
  const newHost = (forUri?: string): Host => {
    const host = options.workers ? workerHost(publish) : inlineHost(publish);
    host.post({ kind: "settings", settings });
    for (const doc of documents.all()) {
      const at = documentPath(doc.uri);
      if (!at.ok || doc.uri === forUri) continue;
      const content = contentOf(doc);
      host.post({
        kind: "text",
        uri: doc.uri,
        path: at.path,
        version: doc.version,
        content,
        own: false,
      });
    }
    hosts.push(host);
    return host;
  };

  /**
   * The host answering for a document: its own while there are fewer than `maxHosts`. A worker
   * is kept started and idle (the spare), so that a document opened is checked at once rather
   * than after a worker has loaded the compiler.
   */
  const assign = (uri: string): Host => {
    const known = hostOf.get(uri);
    if (known?.alive) return known;
    if (known) drop(known);
    const host =
      hosts.find((h) => h.alive && h.documents.size === 0) ??
      (hosts.length < maxHosts
        ? newHost(uri)
        : hosts.reduce((a, b) => (b.documents.size < a.documents.size ? b : a)));
    host.documents.add(uri);
    hostOf.set(uri, host);
    startSpare();
    return host;
  };

  const startSpare = (): void => {
    if (!options.workers || hosts.length >= maxHosts) return;
    if (!hosts.some((h) => h.alive && h.documents.size === 0)) newHost();
  };

  const drop = (host: Host): void => {
    host.stop();
    hosts.splice(hosts.indexOf(host), 1);
    for (const uri of host.documents) hostOf.delete(uri);
  };

  const changed = (doc: TextDocument): void => {
    const at = documentPath(doc.uri);
    if (!at.ok) {
      const zero = { line: 0, character: 0 };
      void connection.sendDiagnostics({
        uri: doc.uri,
        version: doc.version,
        diagnostics: [
          {
            range: { start: zero, end: zero },
            severity: DiagnosticSeverity.Error,
            source: "archc",
            message: at.reason,
          },
        ],
      });
      return;
    }
    const own = assign(doc.uri);
    const content = contentOf(doc);
    for (const host of hosts) {
      host.post({
        kind: "text",
        uri: doc.uri,
        path: at.path,
        version: doc.version,
        content,
        own: host === own,
      });
    }
  };

  // The protocol says: before `initialize`, refuse requests and drop notifications (not `exit`).
  const notInitialized = () =>
    new ResponseError(
      ErrorCodes.ServerNotInitialized,
      "the server is not initialized yet: send initialize first",
    );
  const guard =
    <P, R>(handler: (p: P) => R) =>
    (p: P): R => {
      if (!initialized) throw notInitialized();
      return handler(p);
    };
  const whenReady =
    <P>(handler: (p: P) => void) =>
    (p: P): void => {
      if (initialized) handler(p);
    };

  /** Asks the host of the document; a document without one (closed, no path) has no answer. */
  const ask = <R>(
    method: RequestMethod,
    uri: string,
    extra: { position?: Position; range?: Range } = {},
  ): Promise<R | null> => {
    const host = hostOf.get(uri);
    if (!host?.alive) return Promise.resolve(null);
    return host.request({ method, uri, ...extra }).then(
      (r) => r as R | null,
      (e: Error) => {
        throw new ResponseError(ErrorCodes.InternalError, `archc: internal error: ${e.message}`);
      },
    );
  };

  connection.onInitialize((params): InitializeResult => {
    initialized = true;
    settings = readSettings(
      (params.initializationOptions as { archc?: unknown } | undefined)?.archc ??
        params.initializationOptions,
      settings,
    );
    canRefreshHints = !!params.capabilities.workspace?.inlayHint?.refreshSupport;
    startSpare();
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
  connection.onShutdown(guard(() => undefined));
  // Any other request: refused the same way before initialize, unknown after.
  connection.onRequest((method) => {
    if (!initialized) throw notInitialized();
    throw new ResponseError(ErrorCodes.MethodNotFound, `archc lsp does not handle ${method}`);
  });

  connection.onDidChangeConfiguration(
    whenReady((change) => {
      const raw = (change.settings as { archc?: unknown } | undefined)?.archc;
      const next = readSettings(raw, settings);
      if (JSON.stringify(next) === JSON.stringify(settings)) return;
      settings = next;
      for (const host of hosts) host.post({ kind: "settings", settings });
      if (canRefreshHints) void connection.languages.inlayHint.refresh();
    }),
  );

  // A file saved or changed on disk (not open here): the open files importing it see it now.
  connection.onDidChangeWatchedFiles(
    whenReady((e) => {
      const paths = e.changes.flatMap((c) => {
        const at = documentPath(c.uri);
        return at.ok ? [at.path] : [];
      });
      for (const host of hosts) host.post({ kind: "files", paths });
    }),
  );

  // Fired on open too.
  documents.onDidChangeContent((e) => changed(e.document));
  documents.onDidClose((e) => {
    const uri = e.document.uri;
    void connection.sendDiagnostics({ uri, diagnostics: [] });
    const at = documentPath(uri);
    const host = hostOf.get(uri);
    hostOf.delete(uri);
    host?.documents.delete(uri);
    // A worker with nothing left to answer for stops, and its memory goes with it.
    if (host && host.documents.size === 0 && options.workers) drop(host);
    if (at.ok) for (const h of hosts) h.post({ kind: "close", uri, path: at.path });
    startSpare();
  });

  connection.onHover(
    guard((p) => ask<Hover>("hover", p.textDocument.uri, { position: p.position })),
  );
  connection.onDefinition(
    guard((p) => ask<Location>("definition", p.textDocument.uri, { position: p.position })),
  );
  connection.onCompletion(
    guard(
      async (p) =>
        (await ask<CompletionItem[]>("completion", p.textDocument.uri, { position: p.position })) ??
        [],
    ),
  );
  connection.onDocumentFormatting(
    guard(async (p) => (await ask<TextEdit[]>("formatting", p.textDocument.uri)) ?? []),
  );
  connection.onDocumentSymbol(
    guard(async (p) => (await ask<DocumentSymbol[]>("documentSymbol", p.textDocument.uri)) ?? []),
  );
  connection.languages.inlayHint.on(
    guard(
      async (p) =>
        (await ask<InlayHint[]>("inlayHint", p.textDocument.uri, { range: p.range })) ?? [],
    ),
  );

  // The documents' own notifications are dropped before initialize like the rest.
  const sync: Parameters<typeof documents.listen>[0] = {
    onDidOpenTextDocument: (h) => connection.onDidOpenTextDocument(whenReady(h)),
    onDidChangeTextDocument: (h) => connection.onDidChangeTextDocument(whenReady(h)),
    onDidCloseTextDocument: (h) => connection.onDidCloseTextDocument(whenReady(h)),
    onWillSaveTextDocument: (h) => connection.onWillSaveTextDocument(whenReady(h)),
    onWillSaveTextDocumentWaitUntil: (h) =>
      connection.onWillSaveTextDocumentWaitUntil((p, token) => {
        if (!initialized) throw notInitialized();
        return h(p, token);
      }),
    onDidSaveTextDocument: (h) => connection.onDidSaveTextDocument(whenReady(h)),
  };
  documents.listen(sync);
  connection.onExit(() => {
    for (const host of [...hosts]) drop(host);
  });
  connection.listen();
}

/** `archc lsp`: serves over standard input and output until the editor says exit. */
export function lspCommand(): Promise<number> {
  // Standard output carries the protocol; anything logged goes to standard error instead.
  console.log = console.info = console.error;
  const connection = createConnection(ProposedFeatures.all, process.stdin, process.stdout);
  startServer(connection, { workers: true });
  // The connection ends the process on `exit` (or when the editor goes away).
  return new Promise<number>(() => {});
}
