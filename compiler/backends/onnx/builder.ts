import {
  AttributeType,
  DataType,
  type AttributeMsg,
  type NodeMsg,
  type TensorMsg,
} from "./proto.js";
import type { OnnxWeights } from "./tensor.js";

export const ints = (name: string, v: readonly number[]): AttributeMsg => ({
  name,
  type: AttributeType.INTS,
  ints: [...v],
});
export const int = (name: string, v: number): AttributeMsg => ({
  name,
  type: AttributeType.INT,
  i: v,
});
export const str = (name: string, v: string): AttributeMsg => ({
  name,
  type: AttributeType.STRING,
  s: new TextEncoder().encode(v),
});
export const float = (name: string, v: number): AttributeMsg => ({
  name,
  type: AttributeType.FLOAT,
  f: v,
});

/** Collects the nodes and initializers of one ONNX graph, with unique names. */
export class Builder {
  readonly nodes: NodeMsg[] = [];
  readonly initializers: TensorMsg[] = [];
  private readonly names = new Set<string>(["input", "output"]);

  constructor(private readonly weights: OnnxWeights) {}

  /** A value or node name not used yet: `base`, else `base_1`, `base_2`... */
  unique(base: string): string {
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  /** Adds a node with one output, named `output` or after the node; returns the output. */
  node(
    opType: string,
    input: string[],
    name: string,
    attribute: AttributeMsg[] = [],
    output?: string,
  ): string {
    const node = this.unique(name);
    const out = output ?? node;
    this.nodes.push({ op_type: opType, input, output: [out], name: node, attribute });
    return out;
  }

  /** A constant initializer: a scalar, or a vector when `vector` (BN's fixed gamma/beta). */
  constant(name: string, values: number[], vector = false): string {
    const data = Float32Array.from(values);
    return this.tensor(this.unique(name), vector ? [values.length] : [], data);
  }

  /** A constant float initializer of the given shape (ceil-mode average pooling's rescaling). */
  constantOf(name: string, dims: readonly number[], values: readonly number[]): string {
    return this.tensor(this.unique(name), dims, Float32Array.from(values));
  }

  /** A constant initializer of ones with the given shape (an identity convolution's weight). */
  ones(name: string, dims: readonly number[]): string {
    const n = dims.reduce((a, d) => a * d, 1);
    return this.tensor(this.unique(name), dims, new Float32Array(n).fill(1));
  }

  /** A constant int64 vector initializer: a Reshape target shape, Pad's `pads`. */
  int64s(name: string, values: readonly number[]): string {
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    const out = this.unique(name);
    this.initializers.push({
      name: out,
      dims: [values.length],
      data_type: DataType.INT64,
      raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    return out;
  }

  /** The initializer for parameter `name`, checked against the shape the graph needs. */
  param(name: string, dims: readonly number[]): string {
    const w = this.weights.get(name);
    if (!w) throw new Error(`no weights for '${name}' (expected shape [${dims.join(", ")}])`);
    if (w.dims.length !== dims.length || w.dims.some((d, i) => d !== dims[i]))
      throw new Error(
        `weights '${name}' have shape [${w.dims.join(", ")}], the network needs [${dims.join(", ")}]`,
      );
    const n = dims.reduce((a, b) => a * b, 1);
    if (w.data.length !== n)
      throw new Error(`weights '${name}' hold ${w.data.length} values for ${n} elements`);
    return this.tensor(this.unique(name), dims, w.data);
  }

  private tensor(name: string, dims: readonly number[], data: Float32Array): string {
    // raw_data is little-endian float32, which is what a Float32Array holds on every platform
    // Node runs on; a view, not a copy, so a 90 MB model is not held twice before encoding.
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push({ name, dims: [...dims], data_type: DataType.FLOAT, raw_data: raw });
    return name;
  }
}
