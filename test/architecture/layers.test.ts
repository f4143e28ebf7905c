import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cycles, importGraph, type Edge } from "./imports.js";

const root = join(import.meta.dirname, "../..");

/**
 * The four layers, bottom to top, with the folders that make each. A file may import its own
 * layer and the layers below it, never one above. `util` holds helpers that import nothing of
 * ours; the public entries at the root of compiler/ sit on top of everything but the CLI.
 */
const layers: readonly (readonly [name: string, folders: readonly string[]])[] = [
  ["util", ["compiler/util/"]],
  ["language", ["grammar/", "compiler/language/"]],
  ["backends", ["compiler/backends/"]],
  ["services", ["compiler/services/"]],
  ["lab", ["compiler/lab/"]],
  ["api", ["compiler/index.ts", "compiler/layers.ts", "compiler/prettier.ts"]],
  ["cli", ["compiler/cli/"]],
];

/**
 * The playground is a user of the layers, as the CLI is, but a web page: it may use the language
 * layer, the backends, the services and the one pure lab function it charts (the valid values of
 * a sweep axis), never the CLI, which is Node's.
 */
const playgroundMayImport = [
  "grammar/",
  "compiler/language/",
  "compiler/backends/",
  "compiler/services/",
  "compiler/lab/sweep/axes.ts",
  "playground/",
];

function layerOf(file: string): number {
  const i = layers.findIndex(([, folders]) => folders.some((f) => file.startsWith(f)));
  if (i < 0) throw new Error(`${file} belongs to no layer; add its folder to the table`);
  return i;
}

const graph = importGraph(root, ["grammar", "compiler"]);
const playground = [...importGraph(root, ["playground/src"]).values()].flat();
const edges: Edge[] = [...graph.values()].flat();

describe("layering", () => {
  it("finds the project's imports", () => {
    expect(edges.length).toBeGreaterThan(200);
    expect(edges.some((e) => e.from.startsWith("compiler/cli/"))).toBe(true);
  });

  it("no file imports a layer above its own", () => {
    const upward = edges
      .filter((e) => layerOf(e.to) > layerOf(e.from))
      .map(
        (e) =>
          `${e.from} (${layers[layerOf(e.from)]![0]}) imports ${e.to} (${layers[layerOf(e.to)]![0]})`,
      );
    expect(upward).toEqual([]);
  });

  it("util imports nothing of the project's", () => {
    expect(
      edges.filter(
        (e) => e.from.startsWith("compiler/util/") && !e.to.startsWith("compiler/util/"),
      ),
    ).toEqual([]);
  });

  it("the playground imports only what runs in a browser page", () => {
    expect(playground.length).toBeGreaterThan(10);
    expect(playground.filter((e) => !playgroundMayImport.some((p) => e.to.startsWith(p)))).toEqual(
      [],
    );
  });

  it("has no import cycle", () => {
    expect(cycles(graph)).toEqual([]);
  });

  it("the checker sees a cycle and an upward import when there is one", () => {
    const bad = new Map<string, Edge[]>([
      ["compiler/language/a.ts", [{ from: "compiler/language/a.ts", to: "compiler/lab/b.ts" }]],
      ["compiler/lab/b.ts", [{ from: "compiler/lab/b.ts", to: "compiler/language/a.ts" }]],
    ]);
    expect(cycles(bad)).toEqual([["compiler/lab/b.ts", "compiler/language/a.ts"]]);
    expect(layerOf("compiler/lab/b.ts")).toBeGreaterThan(layerOf("compiler/language/a.ts"));
  });
});
