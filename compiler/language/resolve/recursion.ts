import type { BlockDecl, Body } from "../../../grammar/ast.js";
import { error, type Diagnostic } from "../../../grammar/diagnostic.js";
import type { DeclTable } from "./table.js";

/** A block that reaches itself through its calls can never be expanded. */
export function checkRecursion(table: DeclTable, out: Diagnostic[]): void {
  const calls = new Map<string, { callee: string; span: BlockDecl["span"] }[]>();
  for (const [name, block] of table.blocks) {
    const found: { callee: string; span: BlockDecl["span"] }[] = [];
    collect(block.body, table, found);
    calls.set(name, found);
  }
  const reported = new Set<string>();
  const state = new Map<string, "active" | "done">();
  // Depth-first, with an explicit stack: a chain of thousands of blocks must not overflow it.
  const visit = (root: string): void => {
    const path: string[] = [root];
    const next: number[] = [0];
    state.set(root, "active");
    while (path.length) {
      const name = path[path.length - 1]!;
      const edges = calls.get(name) ?? [];
      const i = next[next.length - 1]!;
      if (i >= edges.length) {
        state.set(name, "done");
        path.pop();
        next.pop();
        continue;
      }
      next[next.length - 1] = i + 1;
      const c = edges[i]!;
      if (state.get(c.callee) === "active") {
        const cycle = [...path.slice(path.indexOf(c.callee)), c.callee];
        const key = [...cycle].sort().join(",");
        if (!reported.has(key)) {
          reported.add(key);
          out.push(
            error(
              "E0205",
              c.span,
              `block ${c.callee} is recursive: ${cycle.join(" -> ")}`,
              "a block cannot contain itself; use repeat N { ... } for a stack of copies",
            ),
          );
        }
      } else if (state.get(c.callee) !== "done") {
        state.set(c.callee, "active");
        path.push(c.callee);
        next.push(0);
      }
    }
  };
  for (const name of table.blocks.keys()) if (!state.has(name)) visit(name);
}

function collect(
  body: Body,
  table: DeclTable,
  out: { callee: string; span: BlockDecl["span"] }[],
): void {
  for (const stmt of body.stmts) {
    if (stmt.kind !== "Chain") continue;
    for (const el of stmt.elements) {
      switch (el.kind) {
        case "Layer":
          if (table.blocks.has(el.callee.name))
            out.push({ callee: el.callee.name, span: el.callee.span });
          break;
        case "Branches":
          el.branches.forEach((b) => collect(b, table, out));
          break;
        case "Residual":
          collect(el.body, table, out);
          if (el.shortcut) collect(el.shortcut, table, out);
          break;
        case "Repeat":
          collect(el.body, table, out);
          break;
        case "If":
          collect(el.then, table, out);
          if (el.otherwise) collect(el.otherwise, table, out);
          break;
      }
    }
  }
}
