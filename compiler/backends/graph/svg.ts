import type { Viz } from "@viz-js/viz";
import { importModule } from "../../util/importModule.js";

// One instance for the process: instantiating compiles the Graphviz wasm module, which costs far
// more than a render. Imported lazily so commands that never draw do not load ~1 MB of module.
let viz: Promise<Viz> | undefined;

/** Renders DOT to SVG with Graphviz compiled to WebAssembly: no system binary needed. */
export async function renderSvg(dot: string): Promise<string> {
  viz ??= importModule("@viz-js/viz", () => import("@viz-js/viz")).then((m) => m.instance());
  // renderString throws with Graphviz's own messages when the DOT does not parse.
  return (await viz).renderString(dot, { format: "svg", engine: "dot" });
}
