import { pathToFileURL } from "node:url";
import type { Location, Position } from "vscode-languageserver/node";
import type { Ident, LayerStmt, NameRef, Node, StringLit } from "../../../grammar/ast.js";
import type { Span } from "../../../grammar/span.js";
import { importTarget } from "../../language/load.js";
import { absOf, nodesOf, type Analysis } from "../../services/analysis.js";
import { contains, extent, rangeOf } from "../../services/positions.js";

/** Go to definition: blocks, networks, train configs, experiments, parameters, lets, imports. */
export function definition(analysis: Analysis, pos: Position): Location | null {
  const root = analysis.program.loaded.root;
  if (!root) return null;
  const enclosing: Node[] = [];
  let target: Ident | NameRef | StringLit | undefined;
  let call: LayerStmt | undefined;
  for (const n of nodesOf(root.program)) {
    if (!contains(n.span, pos)) continue;
    if (n.kind === "Layer") call = n;
    if (n.kind === "BlockDecl" || n.kind === "NetworkDecl") enclosing.push(n);
    if (
      (n.kind === "Ident" || n.kind === "Name" || n.kind === "String") &&
      (!target || extent(n.span) <= extent(target.span))
    )
      target = n;
  }
  if (!target) return null;
  const at = (span: Span): Location => ({
    uri: pathToFileURL(absOf(analysis, span.file)).href,
    range: rangeOf(span),
  });
  if (target.kind === "String") {
    const imp = root.program.imports.find((i) => i.path === target);
    if (!imp) return null;
    const file = importTarget(imp.path.value, root.absPath, analysis.host);
    if (!analysis.host.exists(file) && file !== analysis.absPath) return null;
    const zero = { line: 0, character: 0 };
    return { uri: pathToFileURL(file).href, range: { start: zero, end: zero } };
  }
  const name = target.name;
  const t = analysis.program.table;
  // A keyword argument of a block call: the block's parameter.
  const arg = call?.args.find((a) => a.name === target);
  if (arg && call) {
    const param = t.blocks.get(call.callee.name)?.params.find((p) => p.name.name === name);
    return param ? at(param.name.span) : null;
  }
  if (target.kind === "Name") {
    // Innermost scope first: lets before the cursor, then the declaration's parameters.
    for (const decl of enclosing.reverse()) {
      if (decl.kind !== "BlockDecl" && decl.kind !== "NetworkDecl") continue;
      let let_: Span | undefined;
      for (const n of nodesOf(decl.body)) {
        if (
          n.kind === "Let" &&
          n.name.name === name &&
          n.span.start.offset < target.span.start.offset
        )
          let_ = n.name.span;
      }
      if (let_) return at(let_);
      const param = decl.params.find((p) => p.name.name === name);
      if (param) return at(param.name.span);
    }
  }
  const decl =
    t.blocks.get(name) ?? t.networks.get(name) ?? t.trains.get(name) ?? t.experiments.get(name);
  if (!decl || decl.name === target) return null;
  return at(decl.name.span);
}
