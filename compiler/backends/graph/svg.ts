type Viz = Awaited<ReturnType<typeof import("@viz-js/viz").instance>>;
let viz: Promise<Viz> | undefined;

/** Graphviz compiled to WebAssembly: no system binary needed. */
export async function renderSvg(dot: string): Promise<string> {
  viz ??= import("@viz-js/viz").then((m) => m.instance());
  return (await viz).renderString(dot, { format: "svg", engine: "dot" });
}
