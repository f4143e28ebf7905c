import type { IRGraph } from "../../language/ir/types.js";
import type { BoundArg } from "../../language/elaborate/bind.js";
import type { Program } from "../../language/program.js";
import { validateIR } from "../../language/ir/validate.js";
import { atomicWrite } from "../../util/atomicWrite.js";
import { buildFromCli, type BuildOptions } from "../build.js";
import { Exit, type IO } from "../io.js";
import { endingRefused, outPathRefused } from "../outPath.js";

/** The endings each target's file has, for `-o` that contradicts `--target`. */
const targetEndings = {
  ".json": "json",
  ".ts": "ts",
  ".mts": "ts",
  ".cts": "ts",
  ".onnx": "onnx",
  ".py": "torch",
} as const;

export interface CompileOptions extends BuildOptions {
  readonly target: "json" | "ts" | "onnx" | "torch";
  readonly weights?: string;
  /** ONNX without weights: the seed of the random weights (an integer >= 0; default 1). */
  readonly seed?: string;
  readonly out?: string;
  /** TypeScript: one statement per layer (the elaborated graph) instead of one function per block. */
  readonly flat?: boolean;
  /** Module the generated TypeScript imports its runtime from. */
  readonly layersModule?: string;
}

export async function compileCommand(io: IO, file: string, opts: CompileOptions): Promise<number> {
  if (outPathRefused(io, "compile -o", opts.out)) return Exit.usage;
  const targets = ["json", "ts", "onnx", "torch"];
  if (endingRefused(io, "compile -o", opts.out, "--target", opts.target, targetEndings, targets))
    return Exit.usage;
  if (opts.weights !== undefined && opts.target !== "onnx" && opts.target !== "torch") {
    // Ignoring it would let a user believe the output holds trained weights.
    io.err(
      `archc compile: --weights applies to --target onnx and --target torch; --target ${opts.target} writes no weights`,
    );
    return Exit.usage;
  }
  const r = buildFromCli(io, file, opts);
  if ("exit" in r) return r.exit;
  if (opts.target === "onnx") {
    const { compileOnnx } = await import("./onnx.js");
    return compileOnnx(io, r.graph, opts);
  }
  if (opts.target === "torch") {
    const { compileTorch } = await import("../../lab/torch/compile.js");
    return compileTorch(io, file, r.graph, r.program, opts);
  }
  if (opts.target === "ts") {
    const text = opts.flat
      ? await (
          await import("../../backends/ts/flat.js")
        ).emitFlatTypeScript(r.graph, {
          source: file,
          ...(opts.layersModule ? { layersModule: opts.layersModule } : {}),
        })
      : await emitStructured(io, file, r, opts);
    if (text === undefined) return Exit.diagnostics;
    if (opts.out) {
      atomicWrite(opts.out, text);
      io.err(`wrote ${opts.out} (TypeScript module exporting build())`);
    } else io.out(text);
    return Exit.ok;
  }
  const problems = validateIR(r.graph);
  if (problems.length) {
    // The elaborator made a graph its own schema rejects: that is a bug, not bad input.
    throw new Error(
      `the IR of ${r.graph.network} fails its schema: ${problems.slice(0, 3).join("; ")}`,
    );
  }
  const text = JSON.stringify(r.graph, null, 2) + "\n";
  if (opts.out) {
    atomicWrite(opts.out, text);
    io.err(`wrote ${opts.out} (${r.graph.nodes.length} nodes)`);
  } else io.out(text);
  return Exit.ok;
}

/** The structured TypeScript module, or undefined after saying why a spec cannot be written so. */
async function emitStructured(
  io: IO,
  file: string,
  { graph, program, sets }: { graph: IRGraph; program: Program; sets: readonly BoundArg[] },
  opts: CompileOptions,
): Promise<string | undefined> {
  const { emitTypeScript, StructureError } = await import("../../backends/ts/emit.js");
  try {
    return await emitTypeScript(program, program.table.networks.get(graph.network)!, {
      source: file,
      graph,
      sets,
      ...(opts.layersModule ? { layersModule: opts.layersModule } : {}),
    });
  } catch (e) {
    if (!(e instanceof StructureError)) throw e;
    io.err(`archc: ${file}: cannot write ${graph.network} as structured TypeScript: ${e.message}`);
    io.err("  = help: --flat writes every layer of the elaborated graph instead");
    return undefined;
  }
}
