import type { NetworkDecl } from "../../grammar/ast.js";
import type { IRGraph } from "../../compiler/language/ir/types.js";
import { parseSets, type Program } from "../../compiler/language/program.js";
import type { Artefact, ArtefactKind } from "./protocol.js";

// Each writer is its own chunk, loaded by the worker when its download is first asked for.

/** What the artefacts are written from: the network on screen, as the worker last checked it. */
export interface Source {
  readonly graph: IRGraph;
  readonly program: Program;
  readonly network: NetworkDecl;
  readonly set: readonly string[];
  /** The spec's path as the CLI would be given it (`specs/NAME.arch`): generated headers name it. */
  readonly file: string;
}

/** `archc compile --target KIND` for the network on screen. */
export function artefact(kind: ArtefactKind, s: Source): Promise<Artefact> {
  const writers: Record<ArtefactKind, (s: Source) => Promise<Artefact>> = {
    json: irJson,
    torch: torchSource,
    onnx: onnxModel,
    ts: typeScriptSource,
  };
  return writers[kind](s);
}

/** The IR as `archc compile --target json` writes it, checked against its schema first. */
async function irJson({ graph }: Source): Promise<Artefact> {
  const { validateIR } = await import("../../compiler/language/ir/validate.js");
  const problems = validateIR(graph);
  if (problems.length)
    throw new Error(`the IR fails its schema: ${problems.slice(0, 3).join("; ")}`);
  return {
    name: `${graph.network}.ir.json`,
    type: "application/json",
    data: JSON.stringify(graph, null, 2) + "\n",
  };
}

/** `archc compile --target torch`: one nn.Module per block, the arguments probed from the spec. */
async function torchSource(s: Source): Promise<Artefact> {
  const [{ emitTorch }, { probeFor }] = await Promise.all([
    import("../../compiler/backends/torch/emit.js"),
    import("../../compiler/backends/torch/probe.js"),
  ]);
  return {
    name: `${s.graph.network}.py`,
    type: "text/x-python",
    data: emitTorch(s.graph, { source: s.file, probe: probeFor(s.program, s.network, s.set) }),
  };
}

/** `archc compile --target onnx`: opset 13, seeded random weights (seed 1), as the CLI's default. */
async function onnxModel({ graph }: Source): Promise<Artefact> {
  const { exportOnnx } = await import("../../compiler/backends/onnx/export.js");
  return {
    name: `${graph.network}.onnx`,
    type: "application/octet-stream",
    data: exportOnnx(graph, undefined, { seed: 1 }),
  };
}

/**
 * `archc compile --target ts`: the structured module (one function per block); a spec that
 * cannot be written so gets the flat one (`--flat`), as the CLI's hint suggests. ts-morph with
 * the TypeScript compiler and prettier's standalone build are a chunk of their own (megabytes),
 * fetched only here.
 */
async function typeScriptSource(s: Source): Promise<Artefact> {
  const { emitTypeScript, StructureError } = await import("../../compiler/backends/ts/emit.js");
  const name = s.graph.network;
  try {
    // The --set values with their kinds: 2.0 stays a float in the generated defaults.
    const sets = parseSets(s.set).args;
    const data = await emitTypeScript(s.program, s.network, {
      source: s.file,
      graph: s.graph,
      sets,
    });
    return { name: `${name}.ts`, type: "text/typescript", data };
  } catch (e) {
    if (!(e instanceof StructureError)) throw e;
    const { emitFlatTypeScript } = await import("../../compiler/backends/ts/flat.js");
    const data = await emitFlatTypeScript(s.graph, { source: s.file });
    return { name: `${name}.flat.ts`, type: "text/typescript", data };
  }
}
