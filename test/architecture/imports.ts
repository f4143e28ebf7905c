import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/** Every relative import of the project's own source: static, re-export, type-only and dynamic. */
export interface Edge {
  readonly from: string;
  readonly to: string;
}

const importPattern =
  /(?:^|[\s;])(?:import|export)\s[^;"']*?from\s*["'](\.[^"']+)["']|import\s*\(\s*["'](\.[^"']+)["']\s*\)/g;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

export function importGraph(root: string, folders: readonly string[]): Map<string, Edge[]> {
  const graph = new Map<string, Edge[]>();
  for (const folder of folders) {
    for (const file of sourceFiles(join(root, folder))) {
      const from = relative(root, file);
      const text = readFileSync(file, "utf8");
      const edges: Edge[] = [];
      for (const m of text.matchAll(importPattern)) {
        const spec = m[1] ?? m[2]!;
        const to = relative(root, resolve(dirname(file), spec)).replace(/\.js$/, ".ts");
        edges.push({ from, to });
      }
      graph.set(from, edges);
    }
  }
  return graph;
}

/** Strongly connected components with more than one file, or a file importing itself. */
export function cycles(graph: ReadonlyMap<string, readonly Edge[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const { to } of graph.get(v) ?? []) {
      if (!graph.has(to)) continue;
      if (!idx.has(to)) {
        visit(to);
        low.set(v, Math.min(low.get(v)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(v, Math.min(low.get(v)!, idx.get(to)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      const selfLoop = (graph.get(v) ?? []).some((e) => e.to === v);
      if (comp.length > 1 || selfLoop) found.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}
