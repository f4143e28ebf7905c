import {
  autocompletion,
  snippetCompletion,
  type Completion,
  type CompletionContext,
} from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { setDiagnostics, lintGutter, type Diagnostic as CmDiagnostic } from "@codemirror/lint";
import { EditorState, RangeSetBuilder, StateEffect, StateField } from "@codemirror/state";
import {
  Decoration,
  EditorView,
  WidgetType,
  drawSelection,
  highlightActiveLine,
  hoverTooltip,
  keymap,
  lineNumbers,
  type DecorationSet,
} from "@codemirror/view";
import type { CompletionItem, Hover, InlayHint, Position } from "vscode-languageserver-types";
import type { Diagnostic } from "../../grammar/diagnostic.js";
import { archLanguage } from "./highlight.js";
import { markdownToHtml } from "./markdown.js";
import type { Checked } from "./protocol.js";

/** LSP positions (0-based line and UTF-16 column) from and to CodeMirror offsets. */
function lspPosition(view: EditorView, offset: number) {
  const line = view.state.doc.lineAt(offset);
  return { line: line.number - 1, character: offset - line.from };
}

function offsetOf(view: EditorView, line: number, column: number): number {
  const doc = view.state.doc;
  const l = doc.line(Math.min(Math.max(line, 1), doc.lines));
  return Math.min(l.from + Math.max(column - 1, 0), l.to);
}

/** An archc diagnostic as CodeMirror shows it: the same code, message and hint as `archc check`. */
export function toCm(view: EditorView, d: Diagnostic, file: string): CmDiagnostic {
  // Problems inside an imported file show on the first line, naming where they are.
  const here = d.span.file === file;
  const from = here ? offsetOf(view, d.span.start.line, d.span.start.column) : 0;
  let to = here ? offsetOf(view, d.span.end.line, d.span.end.column) : 0;
  if (to <= from) to = Math.min(from + 1, view.state.doc.length);
  const where = here ? "" : ` (in ${d.span.file}:${d.span.start.line}:${d.span.start.column})`;
  return {
    from,
    to,
    severity: d.severity === "warning" ? "warning" : "error",
    source: d.code,
    message: `${d.message}${where}${d.hint ? `\nhelp: ${d.hint}` : ""}`,
  };
}

class ShapeWidget extends WidgetType {
  constructor(readonly text: string) {
    super();
  }
  override eq(other: ShapeWidget): boolean {
    return other.text === this.text;
  }
  toDOM(): HTMLElement {
    const span = document.createElement("span");
    span.className = "cm-inlay";
    span.textContent = this.text;
    return span;
  }
}

const setInlays = StateEffect.define<DecorationSet>();
const inlayField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(deco, tr) {
    for (const e of tr.effects) if (e.is(setInlays)) return e.value;
    return deco.map(tr.changes);
  },
  provide: (f) => EditorView.decorations.from(f),
});

/** The output shape at the end of each layer line, from the services' inlay hints. */
function inlayDecorations(view: EditorView, inlays: readonly InlayHint[]): DecorationSet {
  const b = new RangeSetBuilder<Decoration>();
  const hints = inlays
    .map((h) => ({
      at: offsetOf(view, h.position.line + 1, h.position.character + 1),
      text: typeof h.label === "string" ? h.label : h.label.map((p) => p.value).join(""),
    }))
    .sort((a, b) => a.at - b.at);
  for (const h of hints) {
    b.add(h.at, h.at, Decoration.widget({ widget: new ShapeWidget(h.text), side: 1 }));
  }
  return b.finish();
}

function toCompletion(item: CompletionItem): Completion {
  const base: Completion = {
    label: item.label,
    ...(item.detail ? { detail: item.detail } : {}),
    ...(typeof item.documentation === "string" ? { info: item.documentation } : {}),
    type:
      item.kind === 3
        ? "function"
        : item.kind === 7
          ? "class"
          : item.kind === 14
            ? "keyword"
            : "property",
  };
  if (item.insertTextFormat === 2 && item.insertText) {
    // LSP snippets (`${1:name}`) are CodeMirror's snippet syntax too.
    return snippetCompletion(item.insertText, base);
  }
  return item.insertText ? { ...base, apply: item.insertText } : base;
}

/** The services, answered by the checking worker (null or nothing when the text moved on). */
export interface EditorHooks {
  /** Called on every change of the text (typing, paste, format, loading an example). */
  onChange(text: string): void;
  hover(position: Position): Promise<Hover | null>;
  complete(text: string, position: Position): Promise<CompletionItem[]>;
  /** The text as `archc fmt` prints it; null when it does not parse. */
  format(text: string): Promise<string | null>;
}

/** The editor: CodeMirror 6 with archc's own services running in the page. */
export function createEditor(parent: HTMLElement, text: string, hooks: EditorHooks): EditorView {
  const hovers = hoverTooltip(async (view, pos) => {
    const h = await hooks.hover(lspPosition(view, pos)).catch(() => null);
    if (!h) return null;
    const value = typeof h.contents === "object" && "value" in h.contents ? h.contents.value : "";
    const from = h.range
      ? offsetOf(view, h.range.start.line + 1, h.range.start.character + 1)
      : pos;
    const to = h.range ? offsetOf(view, h.range.end.line + 1, h.range.end.character + 1) : pos;
    return {
      pos: from,
      end: to,
      above: true,
      create: () => {
        const dom = document.createElement("div");
        dom.className = "cm-archc-hover";
        dom.innerHTML = markdownToHtml(value);
        return { dom };
      },
    };
  });
  const completion = autocompletion({
    override: [
      async (ctx: CompletionContext) => {
        const word = ctx.matchBefore(/[\w/]*/);
        if (!word || (word.from === word.to && !ctx.explicit)) return null;
        const pos = lspPosition(ctx.view!, ctx.pos);
        const items = await hooks
          .complete(ctx.state.doc.toString(), pos)
          .catch((): CompletionItem[] => []);
        return items.length
          ? { from: word.from, options: items.map(toCompletion), validFor: /^[\w/]*$/ }
          : null;
      },
    ],
  });
  return new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [
        lineNumbers(),
        EditorView.lineWrapping,
        history(),
        drawSelection(),
        highlightActiveLine(),
        lintGutter(),
        archLanguage(),
        inlayField,
        hovers,
        completion,
        keymap.of([
          { key: "Shift-Alt-f", run: (v) => (void formatDocument(v, hooks.format), true) },
          indentWithTab,
          ...defaultKeymap,
          ...historyKeymap,
        ]),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) hooks.onChange(u.state.doc.toString());
        }),
      ],
    }),
  });
}

/** Shows a check's diagnostics in the editor: the same as `archc check` gives. */
export function showDiagnostics(view: EditorView, c: Checked): void {
  const diagnostics = c.diagnostics.map((d) => toCm(view, d, c.file));
  view.dispatch(setDiagnostics(view.state, diagnostics));
}

/** Shows the output shape at the end of each layer line. */
export function showInlays(view: EditorView, inlays: readonly InlayHint[]): void {
  view.dispatch({ effects: setInlays.of(inlayDecorations(view, inlays)) });
}

/**
 * Formats as `archc fmt` does; false when the text does not parse (its errors show). A text
 * edited while the formatter ran is left as the user has it.
 */
export async function formatDocument(
  view: EditorView,
  format: (text: string) => Promise<string | null>,
): Promise<boolean> {
  const text = view.state.doc.toString();
  const formatted = await format(text);
  if (formatted === null) return false;
  if (formatted !== text && view.state.doc.toString() === text) {
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: formatted } });
  }
  return true;
}

/** Replaces the whole text (an example, a shared link). */
export function setText(view: EditorView, text: string): void {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
}
