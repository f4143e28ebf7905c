import type { IRGraph } from "../../language/ir/types.js";
import { Builder } from "./builder.js";
import { lowerGraph } from "./lower.js";

/**
 * How a parameter is drawn when no weights are given: `kernel` Glorot-uniform with the fans
 * Keras would use, `bias` and the batch-norm vectors from the ranges in random.ts.
 */
const inits = ["kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"] as const;
export type Init = (typeof inits)[number];

/** One parameter the ONNX model holds, by its initializer name. */
export interface ParameterSpec {
  readonly name: string;
  /** The IR node it belongs to. */
  readonly node: string;
  readonly dims: readonly number[];
  readonly init: Init;
  /** For kernels: the fans Keras' Glorot-uniform uses, so random models look like tfjs' fresh ones. */
  readonly fans?: readonly [number, number];
}

/**
 * Every parameter of the exported model, in graph order (names: `parameterName`; gamma only with
 * scale, beta only with center). Kernels are OIHW: conv [filters, cin/groups, kh, kw]; dense
 * [in, units] (Gemm's B, not transposed, as tfjs stores it). Read off the lowering itself (the
 * parameters its nodes ask the builder for), so that the list and the graph cannot disagree and
 * a new op's parameters are written once, in lower.ts.
 */
export function onnxParameters(graph: IRGraph): ParameterSpec[] {
  const recorder = new ParameterRecorder();
  lowerGraph(recorder, graph, false, (node) => (recorder.lowering = node.name));
  return recorder.parameters;
}

/** A builder that lists the parameters a lowering asks for, instead of reading their weights. */
class ParameterRecorder extends Builder {
  readonly parameters: ParameterSpec[] = [];
  /** The name of the IR node being lowered. */
  lowering = "";

  constructor() {
    super(new Map());
  }

  override param(name: string, dims: readonly number[]): string {
    const init = name.slice(name.lastIndexOf("/") + 1);
    if (!(inits as readonly string[]).includes(init))
      throw new Error(`internal error: no way to draw parameter '${name}' (random.ts)`);
    this.parameters.push({
      name,
      node: this.lowering,
      dims,
      init: init as Init,
      ...(init === "kernel" ? { fans: glorotFans(dims) } : {}),
    });
    return this.unique(name);
  }
}

/** Keras' fans of a kernel: OIHW [out, in, kh, kw] or a dense [in, out]. */
function glorotFans(dims: readonly number[]): [number, number] {
  if (dims.length === 2) return [dims[0]!, dims[1]!];
  const taps = dims.slice(2).reduce((a, d) => a * d, 1);
  return [dims[1]! * taps, dims[0]! * taps];
}
