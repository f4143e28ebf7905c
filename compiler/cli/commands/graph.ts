import { atomicWrite } from "../../util/atomicWrite.js";
import { buildFromCli, type BuildOptions } from "../build.js";
import { Exit, type IO } from "../io.js";

export interface GraphOptions extends BuildOptions {
  readonly expand?: boolean;
  readonly depth: string;
  readonly format: "svg" | "dot";
  readonly out?: string;
}

export async function graphCommand(io: IO, file: string, opts: GraphOptions): Promise<number> {
  const depth = Number(opts.depth);
  if (!Number.isInteger(depth) || depth < 1) {
    io.err(`archc graph: --depth must be a positive integer, not '${opts.depth}'`);
    return Exit.usage;
  }
  const r = buildFromCli(io, file, opts);
  if ("exit" in r) return r.exit;
  const { toDot } = await import("../../backends/graph/dot.js");
  const dot = toDot(r.graph, { mode: opts.expand ? "expanded" : "collapsed", depth });
  const text =
    opts.format === "dot"
      ? dot
      : await (await import("../../backends/graph/svg.js")).renderSvg(dot);
  if (opts.out) {
    atomicWrite(opts.out, text);
    io.err(`wrote ${opts.out}`);
  } else io.out(text);
  return Exit.ok;
}
