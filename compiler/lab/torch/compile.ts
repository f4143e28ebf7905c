import { basename, dirname, extname, join } from "node:path";
import type { IRGraph } from "../../language/ir/types.js";
import { parseSets, pickNetwork, type Program } from "../../language/program.js";
import { emitTorch } from "../../backends/torch/emit.js";
import { probeFor } from "../../backends/torch/probe.js";
import { atomicWrite } from "../../util/atomicWrite.js";
import { torchWeightsFrom } from "./weights.js";

interface Out {
  out(text: string): void;
  err(text: string): void;
}

/** The generated module for a graph, its constructor parameters found by probing the spec. */
export function torchModule(
  graph: IRGraph,
  program: Program | undefined,
  opts: { network?: string; set?: readonly string[]; source?: string },
): string {
  let probe;
  if (program) {
    const net = pickNetwork(program, opts.network ?? graph.network);
    if (!("code" in net) && parseSets(opts.set ?? []).diagnostics.length === 0)
      probe = probeFor(program, net, opts.set ?? []);
  }
  return emitTorch(graph, {
    ...(opts.source ? { source: opts.source } : {}),
    ...(probe ? { probe } : {}),
  });
}

/**
 * `compile --target torch`: the module to -o (or standard output); with --weights, the weights
 * beside it as NAME.safetensors. Returns the exit code (0, 1 for unusable weights, 2 for usage).
 */
export async function compileTorch(
  io: Out,
  file: string,
  graph: IRGraph,
  program: Program,
  opts: { out?: string; weights?: string; network?: string; set?: readonly string[] },
): Promise<number> {
  if (opts.weights && !opts.out) {
    io.err(
      "archc compile: --target torch --weights writes two files; give the module with -o model.py",
    );
    return 2;
  }
  const text = torchModule(graph, program, { ...opts, source: file });
  let weights: Uint8Array | undefined;
  if (opts.weights) {
    try {
      weights = await torchWeightsFrom(graph, opts.weights);
    } catch (e) {
      io.err(`archc compile: ${e instanceof Error ? e.message : String(e)}`);
      return 1;
    }
  }
  if (!opts.out) {
    io.out(text);
    return 0;
  }
  const weightsPath = join(
    dirname(opts.out),
    `${basename(opts.out, extname(opts.out))}.safetensors`,
  );
  if (weights) atomicWrite(weightsPath, weights);
  atomicWrite(opts.out, text);
  io.err(
    `wrote ${opts.out} (PyTorch module, class ${graph.network})${weights ? ` and ${weightsPath} (load with load_weights(model, path))` : ""}`,
  );
  return 0;
}
