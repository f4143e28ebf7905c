/**
 * archc's programmatic API: compile `.arch` specs to IR graphs, and IR graphs to tfjs models.
 */
import type * as tf from "@tensorflow/tfjs";
import type { Diagnostic } from "../grammar/diagnostic.js";
import { formatDiagnostics } from "./language/diagnostics/print.js";
import type { IRGraph } from "./language/ir/types.js";
import { syntheticSpan } from "../grammar/span.js";
import type { Value } from "./language/elaborate/values.js";
import { buildVariant, loadProgram, pickNetwork } from "./language/program.js";
import { boundArg, makeVariant, valueOf } from "./language/variant.js";
import type { BackendChoice } from "./backends/tfjs/choices.js";

export type { IRGraph, IRNode } from "./language/ir/types.js";
export type { Diagnostic } from "../grammar/diagnostic.js";
export type { BackendChoice } from "./backends/tfjs/choices.js";
export type { Value } from "./language/elaborate/values.js";
export type { Variant } from "./language/variant.js";
export { validateIR, irSchema } from "./language/ir/validate.js";

/** A spec with errors; `diagnostics` holds them and the message shows them as archc prints them. */
export class ArchcError extends Error {
  constructor(
    readonly diagnostics: readonly Diagnostic[],
    sources: (file: string) => string | undefined,
  ) {
    super(formatDiagnostics(diagnostics, sources));
  }
}

export interface CompileOptions {
  /** Network to build; by default the last one in the file. */
  readonly network?: string;
  /**
   * Network arguments as values: integers, other numbers (floats), booleans, a word of the
   * language such as "depthwise" or "relu", any other string, or a Value.
   */
  readonly args?: Readonly<Record<string, string | number | boolean | Value>>;
}

/** Parses, checks and elaborates a spec file to its IR graph; throws ArchcError on bad input. */
export function compileSpec(file: string, opts: CompileOptions = {}): IRGraph {
  const program = loadProgram(file);
  const fail = (ds: readonly Diagnostic[]) => new ArchcError(ds, (f) => program.loaded.source(f));
  if (program.diagnostics.length) throw fail(program.diagnostics);
  const net = pickNetwork(program, opts.network);
  if ("code" in net) throw fail([net]);
  const args = Object.entries(opts.args ?? {}).map(([k, v]) =>
    boundArg(k, valueOf(v), syntheticSpan(`args.${k}`)),
  );
  const built = buildVariant(program, makeVariant(net.name.name, args));
  if (!built.ok) throw fail(built.diagnostics);
  return built.graph;
}

export interface BuildModelOptions extends CompileOptions {
  /** tfjs backend to start first; `auto` tries tfjs-node-gpu, tfjs-node, then wasm. */
  readonly backend?: BackendChoice;
  /** Force one grouped-convolution strategy for every partitioned layer. */
  readonly groupedStrategy?: string;
}

/**
 * Builds a tfjs LayersModel from a spec file or an IR graph. Layer names come from the spec
 * (block path plus layer), so weights saved from one build load into another.
 */
export async function buildModel(
  spec: string | IRGraph,
  opts: BuildModelOptions = {},
): Promise<tf.LayersModel> {
  const graph = typeof spec === "string" ? compileSpec(spec, opts) : spec;
  const { initBackend } = await import("./backends/tfjs/runtime.js");
  await initBackend(opts.backend ?? "auto");
  const { buildModelFromIR } = await import("./backends/tfjs/model.js");
  return buildModelFromIR(
    graph,
    opts.groupedStrategy ? { groupedStrategy: opts.groupedStrategy } : {},
  );
}
