import { integerFlag } from "../../util/integerFlag.js";
import { boxCount, toDot, type DotOptions } from "../../backends/graph/dot.js";
import { renderSvg } from "../../backends/graph/svg.js";
import { atomicWrite } from "../../util/atomicWrite.js";
import { buildFromCli, type BuildOptions } from "../build.js";
import { Exit, type IO } from "../io.js";
import { endingRefused, outPathRefused } from "../outPath.js";

/** What an ending says a file holds: graph writes svg and dot, not the images. */
const graphEndings = {
  ".svg": "svg",
  ".dot": "dot",
  ".gv": "dot",
  ".png": "png",
  ".jpg": "jpeg",
  ".jpeg": "jpeg",
  ".gif": "gif",
  ".webp": "webp",
  ".pdf": "pdf",
} as const;

export interface GraphOptions extends BuildOptions {
  /** Every layer inside nested block frames. */
  readonly expand?: boolean;
  /** One box per block instance: the default, accepted so scripts can say so. */
  readonly collapse?: boolean;
  /** Collapsed: the block nesting level one box stands for (default "1"). */
  readonly depth?: string;
  readonly format?: "svg" | "dot";
  readonly out?: string;
}

/** Checks the options before building, so a typo costs no elaboration. */
function parseOptions(opts: GraphOptions): DotOptions | string {
  if (opts.expand && opts.collapse) return "--expand and --collapse cannot be used together";
  const depth = integerFlag("depth", opts.depth ?? "1", 1);
  if (typeof depth !== "number") return depth.error;
  const format = opts.format ?? "svg";
  if (format !== "svg" && format !== "dot")
    return `--format must be svg or dot, not '${String(format)}'`;
  return { mode: opts.expand ? "expanded" : "collapsed", depth };
}

export async function graphCommand(io: IO, file: string, opts: GraphOptions): Promise<number> {
  if (outPathRefused(io, "graph -o", opts.out)) return Exit.usage;
  const format = opts.format ?? "svg";
  if (endingRefused(io, "graph -o", opts.out, "--format", format, graphEndings, ["svg", "dot"]))
    return Exit.usage;
  const dotOpts = parseOptions(opts);
  if (typeof dotOpts === "string") {
    io.err(`archc graph: ${dotOpts}`);
    return Exit.usage;
  }
  const r = buildFromCli(io, file, opts);
  if ("exit" in r) return r.exit;
  const dot = toDot(r.graph, dotOpts);
  const text = opts.format === "dot" ? dot : await renderSvg(dot);
  if (opts.out) {
    atomicWrite(opts.out, text);
    io.err(`wrote ${opts.out} (${boxCount(r.graph, dotOpts)} boxes)`);
  } else io.out(text);
  return Exit.ok;
}
