import {
  DiagnosticSeverity,
  type Diagnostic as LspDiagnostic,
  type Position,
  type Range,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import { readSource } from "../../language/defaultHost.js";
import { checkSourceSize } from "../../language/host.js";
import { formatSource } from "../commands/fmt.js";
import { analyse, type Analysis } from "../../services/analysis.js";
import { complete } from "../../services/completion.js";
import { hover } from "../../services/hover.js";
import { inlayHints } from "../../services/inlay.js";
import { definition } from "./definition.js";
import { defaultSettings, type Settings } from "./settings.js";
import { documentSymbols } from "../../services/symbols.js";
import { toLsp } from "./toLsp.js";

/** An open document's text as the server passes it on, or only its size when over the limit. */
export type Content = { readonly text: string } | { readonly bytes: number };

/** What the server tells a document service (in a worker thread or in its own thread). */
export type ToService =
  | { readonly kind: "settings"; readonly settings: Settings }
  /** The text of an open document; `own` when this service answers for it. */
  | {
      readonly kind: "text";
      readonly uri: string;
      readonly path: string;
      readonly version: number;
      readonly content: Content;
      readonly own: boolean;
    }
  | { readonly kind: "close"; readonly uri: string; readonly path: string }
  /** Files changed on disk. */
  | { readonly kind: "files"; readonly paths: readonly string[] }
  | {
      readonly kind: "request";
      readonly id: number;
      readonly method: RequestMethod;
      readonly uri: string;
      readonly position?: Position;
      readonly range?: Range;
    };

export type RequestMethod =
  "hover" | "definition" | "completion" | "formatting" | "documentSymbol" | "inlayHint";

export type FromService =
  | {
      readonly kind: "diagnostics";
      readonly uri: string;
      readonly version: number;
      readonly diagnostics: readonly LspDiagnostic[];
    }
  | { readonly kind: "response"; readonly id: number; readonly result: unknown }
  /** A request that failed inside archc: the message of the fault. */
  | { readonly kind: "failed"; readonly id: number; readonly message: string };

interface OwnDocument {
  readonly path: string;
  readonly version: number;
  readonly content: Content;
}

/**
 * The language services for the documents one worker answers for: each is checked when it
 * opens and again after each pause in typing (`debounceMs`), and again when a file it imports
 * changes (open in the editor or on disk). Every open document's text is known here, so imports
 * of unsaved text resolve as the editor shows them. Results carry the version they were computed
 * for; the server drops those the text has moved on from.
 */
export class DocumentService {
  private readonly own = new Map<string, OwnDocument>();
  /** The content of every open document, by path. */
  private readonly open = new Map<string, Content>();
  private readonly analyses = new Map<string, Analysis>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private settings: Settings = defaultSettings;

  constructor(private readonly send: (m: FromService) => void) {}

  /** True while this service answers for no document, and can be stopped. */
  get idle(): boolean {
    return this.own.size === 0;
  }

  receive(m: ToService): void {
    switch (m.kind) {
      case "settings":
        this.settings = m.settings;
        // Another network changes every hover and hint.
        this.analyses.clear();
        for (const uri of this.own.keys()) this.run(uri);
        return;
      case "text": {
        this.open.set(m.path, m.content);
        if (m.own) {
          const opened = !this.own.has(m.uri);
          this.own.set(m.uri, { path: m.path, version: m.version, content: m.content });
          if (opened) this.run(m.uri);
          else this.schedule(m.uri, this.settings.debounceMs, true);
        }
        this.importChanged([m.path], m.uri);
        return;
      }
      case "close": {
        this.open.delete(m.path);
        if (this.own.delete(m.uri)) {
          this.cancel(m.uri);
          this.analyses.delete(m.uri);
        }
        // Its unsaved text is gone: files importing it read it from disk again.
        this.importChanged([m.path], m.uri);
        return;
      }
      case "files":
        this.importChanged(m.paths);
        return;
      case "request": {
        let result: unknown;
        try {
          result = this.answer(m);
        } catch (e) {
          this.send({
            kind: "failed",
            id: m.id,
            message: e instanceof Error ? e.message : String(e),
          });
          return;
        }
        this.send({ kind: "response", id: m.id, result });
        return;
      }
    }
  }

  private answer(m: Extract<ToService, { kind: "request" }>): unknown {
    const doc = this.own.get(m.uri);
    // A document over the size limit has only its diagnostic.
    if (!doc || !("text" in doc.content))
      return m.method === "hover" || m.method === "definition" ? null : [];
    const text = doc.content.text;
    const pos = m.position ?? { line: 0, character: 0 };
    switch (m.method) {
      case "hover": {
        const a = this.current(m.uri);
        return a ? hover(a, pos) : null;
      }
      case "definition": {
        const a = this.current(m.uri);
        return a ? definition(a, pos) : null;
      }
      case "completion":
        // The last analysis knows the blocks; the text itself may be half a word ahead of it.
        return complete(this.analyses.get(m.uri) ?? this.current(m.uri), text, pos);
      case "formatting": {
        const r = formatSource(doc.path, text);
        // Text that does not parse is left alone; its diagnostics say why.
        if (r.text === undefined || r.text === text) return [];
        const end = TextDocument.create(m.uri, "arch", doc.version, text).positionAt(text.length);
        return [{ range: { start: { line: 0, character: 0 }, end }, newText: r.text }];
      }
      case "documentSymbol": {
        const a = this.current(m.uri);
        return a ? documentSymbols(a) : [];
      }
      case "inlayHint": {
        if (!this.settings.inlayHints) return [];
        const a = this.current(m.uri);
        return a ? inlayHints(a, m.range) : [];
      }
    }
  }

  private readonly read = (absPath: string): string => {
    const open = this.open.get(absPath);
    if (!open) return readSource(absPath);
    // Open text is held to the limit files on disk are held to.
    if (!("text" in open)) checkSourceSize(open.bytes);
    return (open as { text: string }).text;
  };

  /** The analysis of the document's current text, computed now if it is not there yet. */
  private current(uri: string): Analysis | undefined {
    const doc = this.own.get(uri);
    if (!doc) return undefined;
    const known = this.analyses.get(uri);
    if (known && known.version === doc.version) return known;
    return this.run(uri);
  }

  private run(uri: string): Analysis | undefined {
    this.cancel(uri);
    const doc = this.own.get(uri);
    if (!doc) return undefined;
    let a: Analysis;
    try {
      const text = "text" in doc.content ? doc.content.text : undefined;
      a = analyse(doc.path, doc.version, text, this.read, this.settings);
    } catch (e) {
      // Bad input is reported as diagnostics; this is archc's own fault. The server stays up.
      this.analyses.delete(uri);
      const message = e instanceof Error ? e.message.split("\n")[0] : String(e);
      const zero = { line: 0, character: 0 };
      this.send({
        kind: "diagnostics",
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
    this.analyses.set(uri, a);
    this.send({
      kind: "diagnostics",
      uri,
      version: a.version,
      diagnostics: a.diagnostics.map((d) => toLsp(a, d)),
    });
    return a;
  }

  /** Own documents (other than `except`) that reached one of `paths` are checked again. */
  private importChanged(paths: readonly string[], except?: string): void {
    for (const [uri, a] of this.analyses) {
      if (uri !== except && a.modules.some((m) => m !== a.absPath && paths.includes(m)))
        this.schedule(uri, this.settings.debounceMs, false);
    }
  }

  private schedule(uri: string, delay: number, edited: boolean): void {
    const prior = this.timers.get(uri);
    // An edit of its own is pending: that check will see the imported file's new text too.
    if (prior && !edited) return;
    if (prior) clearTimeout(prior);
    this.timers.set(
      uri,
      setTimeout(() => {
        this.timers.delete(uri);
        const doc = this.own.get(uri);
        const known = this.analyses.get(uri);
        // Checked already (a hover flushed it)?
        if (!doc || (edited && known && known.version === doc.version)) return;
        this.run(uri);
      }, delay),
    );
  }

  private cancel(uri: string): void {
    const timer = this.timers.get(uri);
    if (timer) clearTimeout(timer);
    this.timers.delete(uri);
  }
}
