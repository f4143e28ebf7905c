import { InlayHintKind, type InlayHint, type Range } from "vscode-languageserver-types";
import type { LayerStmt } from "../../grammar/ast.js";
import { nodesOf, type Analysis } from "./analysis.js";
import { runsOf, shapeText } from "./hover.js";

/**
 * The output shape at the end of each line that ends a layer or block call, for the network the
 * figures are taken from. A line built several times with different shapes shows each of them.
 */
export function inlayHints(analysis: Analysis, range?: Range): InlayHint[] {
  const root = analysis.program.loaded.root;
  if (!root || !analysis.figures().ok) return [];
  // The statement ending last on each line is the one whose output leaves the line.
  const lastOnLine = new Map<number, LayerStmt>();
  for (const n of nodesOf(root.program)) {
    if (n.kind !== "Layer") continue;
    const line = n.span.end.line;
    const prior = lastOnLine.get(line);
    if (!prior || prior.span.end.offset < n.span.end.offset) lastOnLine.set(line, n);
  }
  const lines = analysis.text.split(/\r?\n|\r/);
  const hints: InlayHint[] = [];
  for (const [line, stmt] of [...lastOnLine].sort((a, b) => a[0] - b[0])) {
    if (range && (line - 1 < range.start.line || line - 1 > range.end.line)) continue;
    const runs = runsOf(analysis, stmt);
    if (!runs?.length) continue;
    const shapes = [...new Set(runs.map((r) => shapeText(r.shape)))];
    const label = shapes.length > 3 ? `${shapes.slice(0, 3).join(" | ")} | …` : shapes.join(" | ");
    const text = lines[line - 1] ?? "";
    hints.push({
      position: { line: line - 1, character: text.replace(/\s*(#.*)?$/, "").length },
      label: `→ ${label}${runs.length > 1 ? ` (×${runs.length})` : ""}`,
      kind: InlayHintKind.Type,
      paddingLeft: true,
    });
  }
  return hints;
}
