import type { Extension } from "@codemirror/state";
import { RangeSetBuilder } from "@codemirror/state";
import {
  Decoration,
  ViewPlugin,
  type DecorationSet,
  type EditorView,
  type ViewUpdate,
} from "@codemirror/view";
import type { IToken } from "chevrotain";
import { lex } from "../../grammar/lexer.js";
import * as T from "../../grammar/tokens.js";
import { ops } from "../../compiler/language/elaborate/ops/catalogue.js";

/** Keyword tokens are those that fall back to Identifier (`longer_alt`), as the lexer builds them. */
function classOf(tok: IToken): string | undefined {
  const type = tok.tokenType;
  if (type === T.NumberLiteral || type === T.SizeLiteral) return "tok-number";
  if (type === T.StringLiteral) return "tok-string";
  if (type === T.Comment) return "tok-comment";
  if (type === T.Arrow) return "tok-arrow";
  if (type === T.Identifier) return ops.has(tok.image) ? "tok-layer" : undefined;
  if (type.LONGER_ALT !== undefined) return "tok-keyword";
  return undefined;
}

const marks = new Map<string, Decoration>();
const mark = (cls: string) => {
  let m = marks.get(cls);
  if (!m) marks.set(cls, (m = Decoration.mark({ class: cls })));
  return m;
};

function decorate(view: EditorView): DecorationSet {
  const { tokens, comments } = lex("", view.state.doc.toString());
  const all = [...tokens, ...comments].sort((a, b) => a.startOffset - b.startOffset);
  const b = new RangeSetBuilder<Decoration>();
  for (const tok of all) {
    const cls = classOf(tok);
    const end = (tok.endOffset ?? tok.startOffset) + 1;
    if (cls && end > tok.startOffset) b.add(tok.startOffset, end, mark(cls));
  }
  return b.finish();
}

/** Highlighting from archc's own lexer: what is coloured a keyword is one to the parser. */
export function archLanguage(): Extension {
  return ViewPlugin.fromClass(
    class {
      decorations: DecorationSet;
      constructor(view: EditorView) {
        this.decorations = decorate(view);
      }
      update(u: ViewUpdate) {
        if (u.docChanged) this.decorations = decorate(u.view);
      }
    },
    { decorations: (v) => v.decorations },
  );
}
