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
import type { CompletionItem } from "vscode-languageserver-types";
import type { Diagnostic } from "../../grammar/diagnostic.js";
import { parse } from "../../grammar/parse.js";
import { print } from "../../grammar/printer.js";
import { complete } from "../../compiler/services/completion.js";
import { hover } from "../../compiler/services/hover.js";
import { inlayHints } from "../../compiler/services/inlay.js";
import type { Analysis } from "../../compiler/services/analysis.js";
import { archLanguage } from "./highlight.js";
import { markdownToHtml } from "./markdown.js";

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
function inlayDecorations(view: EditorView, analysis: Analysis): DecorationSet {
  const b = new RangeSetBuilder<Decoration>();
  const hints = inlayHints(analysis)
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

export interface EditorHooks {
  /** Called on every change of the text (typing, paste, format, loading an example). */
  onChange(text: string): void;
  /** The newest analysis, for hovers and completion. */
  analysis(): Analysis | undefined;
}

/** The editor: CodeMirror 6 with archc's own services running in the page. */
export function createEditor(parent: HTMLElement, text: string, hooks: EditorHooks): EditorView {
  const hovers = hoverTooltip((view, pos) => {
    const a = hooks.analysis();
    if (!a) return null;
    const h = hover(a, lspPosition(view, pos));
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
      (ctx: CompletionContext) => {
        const word = ctx.matchBefore(/[\w/]*/);
        if (!word || (word.from === word.to && !ctx.explicit)) return null;
        const pos = lspPosition(ctx.view!, ctx.pos);
        const items = complete(hooks.analysis(), ctx.state.doc.toString(), pos);
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
          { key: "Shift-Alt-f", run: (v) => formatDocument(v) },
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

/** Shows an analysis' diagnostics in the editor: the same as `archc check` gives. */
export function showDiagnostics(view: EditorView, analysis: Analysis, file: string): void {
  const diagnostics = analysis.diagnostics.map((d) => toCm(view, d, file));
  view.dispatch(setDiagnostics(view.state, diagnostics));
}

/** Shows the output shape at the end of each layer line (this builds the network). */
export function showInlays(view: EditorView, analysis: Analysis): void {
  view.dispatch({ effects: setInlays.of(inlayDecorations(view, analysis)) });
}

/** Formats as `archc fmt` does; a text that does not parse is left alone (its errors show). */
export function formatDocument(view: EditorView): boolean {
  const text = view.state.doc.toString();
  const parsed = parse("spec.arch", text);
  if (parsed.diagnostics.length) return false;
  const formatted = print(parsed.program, parsed.comments);
  if (formatted !== text) {
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: formatted } });
  }
  return true;
}

/** Replaces the whole text (an example, a shared link). */
export function setText(view: EditorView, text: string): void {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
}
