import { defaultsWord } from "../language/elaborate/defaults.js";
import {
  CompletionItemKind,
  InsertTextFormat,
  type CompletionItem,
  type Position,
} from "vscode-languageserver-types";
import type { BlockDecl } from "../../grammar/ast.js";
import { printExpr } from "../../grammar/printer.js";
import { ops } from "../language/elaborate/ops/catalogue.js";
import type { AttrKind } from "../language/elaborate/ops/spec.js";
import { activations, orders, paddings } from "../language/elaborate/values.js";
import { defaultHost } from "../language/defaultHost.js";
import type { Analysis } from "./analysis.js";

const keywords = [
  "import",
  "block",
  "network",
  "train",
  "experiment",
  "expect",
  "repeat",
  "residual",
  "shortcut",
  "concat",
  "add",
  "mul",
  "branch",
  "if",
  "else",
  "let",
];

/** The words an attribute of each kind takes. */
const valueWords: Partial<Record<AttrKind, readonly string[]>> = {
  padding: paddings,
  activation: activations,
  parts: ["depthwise", "regular"],
  order: orders,
  bool: ["true", "false"],
};

/** What the text before the cursor says is being written. */
export type Context =
  | { readonly kind: "import" }
  | { readonly kind: "args"; readonly callee: string; readonly written: readonly string[] }
  | { readonly kind: "value"; readonly callee: string; readonly arg: string }
  | { readonly kind: "element" };

/** Reads the context from the current line: an import path, the arguments of a call, or a layer. */
export function contextAt(text: string, pos: Position): Context {
  const line = text.split(/\r?\n|\r/)[pos.line] ?? "";
  const before = line.slice(0, pos.character).replace(/#.*$/, "");
  if (/^\s*import\s+"[^"]*$/.test(before)) return { kind: "import" };
  // The innermost parenthesis still open on this line names the call being written.
  let depth = 0;
  for (let i = before.length - 1; i >= 0; i--) {
    const c = before[i];
    if (c === ")") depth++;
    else if (c === "(") {
      if (depth === 0) {
        const callee = /([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(before.slice(0, i))?.[1];
        if (!callee) break;
        const inside = before.slice(i + 1);
        const value = /([A-Za-z_]\w*)\s*=\s*[A-Za-z_]*$/.exec(inside);
        if (value) return { kind: "value", callee, arg: value[1]! };
        if (/=[^,]*$/.test(inside)) return { kind: "element" };
        return {
          kind: "args",
          callee,
          written: [...inside.matchAll(/([A-Za-z_]\w*)\s*=/g)].map((m) => m[1]!),
        };
      }
      depth--;
    }
  }
  // The bare form: `conv 3x3 64 pa|` offers the layer's attributes.
  const bare = /(?:^|->|\{)\s*([A-Za-z_][A-Za-z0-9_]*)\s+([^(){}>]*)$/.exec(before);
  const bareValue = bare ? /([A-Za-z_]\w*)\s*=\s*[A-Za-z_]*$/.exec(bare[2]!) : null;
  if (bare && bareValue && ops.has(bare[1]!)) {
    return { kind: "value", callee: bare[1]!, arg: bareValue[1]! };
  }
  if (bare && ops.has(bare[1]!) && !/=\s*[^\s,]*$/.test(bare[2]!)) {
    return {
      kind: "args",
      callee: bare[1]!,
      written: [...bare[2]!.matchAll(/([A-Za-z_]\w*)\s*=/g)].map((m) => m[1]!),
    };
  }
  return { kind: "element" };
}

function blockSignature(b: BlockDecl): string {
  const ps = b.params.map((p) =>
    p.default ? `${p.name.name} = ${printExpr(p.default)}` : p.name.name,
  );
  return `block ${b.name.name}(${ps.join(", ")})`;
}

/** Completion of layer names, block names with their parameters, argument names and std modules. */
export function complete(
  analysis: Analysis | undefined,
  text: string,
  pos: Position,
): CompletionItem[] {
  const ctx = contextAt(text, pos);
  const blocks = analysis?.program.table.blocks ?? new Map<string, BlockDecl>();
  if (ctx.kind === "import") {
    return (analysis?.host ?? defaultHost).stdlibModules().map((m) => ({
      label: `std/${m}`,
      kind: CompletionItemKind.Module,
      detail: "standard library",
    }));
  }
  if (ctx.kind === "value") {
    const kind = ops.get(ctx.callee)?.attrs.find((a) => a.name === ctx.arg)?.kind;
    return (kind ? (valueWords[kind] ?? []) : []).map((w) => ({
      label: w,
      kind: CompletionItemKind.EnumMember,
      detail: `${ctx.callee} ${ctx.arg}`,
    }));
  }
  if (ctx.kind === "args") {
    const op = ops.get(ctx.callee);
    const bare = !text
      .split(/\r?\n|\r/)
      [pos.line]?.slice(0, pos.character)
      .includes("(");
    const eq = bare ? "=" : " = ";
    if (op) {
      return op.attrs
        .filter((a) => !ctx.written.includes(a.name))
        .map((a) => ({
          label: a.name,
          kind: CompletionItemKind.Property,
          detail: `${op.name} argument${a.positional ? " (may be given by position)" : ""}`,
          documentation: a.doc,
          insertText: `${a.name}${eq}`,
        }));
    }
    const block = blocks.get(ctx.callee);
    if (block) {
      return block.params
        .filter((p) => !ctx.written.includes(p.name.name))
        .map((p) => ({
          label: p.name.name,
          kind: CompletionItemKind.Property,
          detail: p.default ? `default ${printExpr(p.default)}` : "required",
          documentation: blockSignature(block),
          insertText: `${p.name.name} = `,
        }));
    }
    return [];
  }
  const items: CompletionItem[] = [];
  for (const op of ops.values()) {
    items.push({
      label: op.name,
      kind: CompletionItemKind.Function,
      detail: "layer",
      documentation: op.doc,
    });
  }
  for (const b of blocks.values()) {
    const required = b.params.filter((p) => !p.default);
    const snippet = `${b.name.name}(${required.map((p, i) => `\${${i + 1}:${p.name.name}}`).join(", ")})$0`;
    items.push({
      label: b.name.name,
      kind: CompletionItemKind.Class,
      detail: blockSignature(b),
      documentation: `block from ${b.span.file}`,
      insertText: snippet,
      insertTextFormat: InsertTextFormat.Snippet,
    });
  }
  items.push({
    label: defaultsWord,
    kind: CompletionItemKind.Keyword,
    detail: "defaults LAYER(attribute = value, ...)",
    documentation:
      "Sets a layer's attributes where layers leave them out, for the rest of this body and the blocks it calls: defaults bn(epsilon = 1e-5, momentum = 0.9)",
    insertText: `${defaultsWord} \${1:bn}(\$0)`,
    insertTextFormat: InsertTextFormat.Snippet,
  });
  for (const k of keywords) items.push({ label: k, kind: CompletionItemKind.Keyword });
  return items;
}
