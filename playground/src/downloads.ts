import type { NetworkDecl } from "../../grammar/ast.js";
import type { IRGraph } from "../../compiler/language/ir/types.js";
import type { Program } from "../../compiler/language/program.js";

export interface Artefact {
  readonly name: string;
  readonly type: string;
  readonly data: string | Uint8Array;
}

/** The IR as `archc compile --target json` writes it, checked against its schema first. */
export async function irJson(graph: IRGraph): Promise<Artefact> {
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
export async function torchSource(
  graph: IRGraph,
  program: Program,
  net: NetworkDecl,
  set: readonly string[],
  source: string,
): Promise<Artefact> {
  const [{ emitTorch }, { probeFor }] = await Promise.all([
    import("../../compiler/backends/torch/emit.js"),
    import("../../compiler/backends/torch/probe.js"),
  ]);
  return {
    name: `${graph.network}.py`,
    type: "text/x-python",
    data: emitTorch(graph, { source, probe: probeFor(program, net, set) }),
  };
}

/** `archc compile --target onnx`: opset 13, seeded random weights (seed 1), as the CLI's default. */
export async function onnxModel(graph: IRGraph): Promise<Artefact> {
  const { exportOnnx } = await import("../../compiler/backends/onnx/export.js");
  return {
    name: `${graph.network}.onnx`,
    type: "application/octet-stream",
    data: exportOnnx(graph, undefined, { seed: 1 }),
  };
}

/** Hands an artefact to the browser as a file download. */
export function saveAs(a: Artefact): void {
  const blob = new Blob([a.data as BlobPart], { type: a.type });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = a.name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
