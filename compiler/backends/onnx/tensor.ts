/** A float32 tensor in ONNX's layout (OIHW kernels), row-major. */
export interface OnnxTensor {
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

/** Initializers by parameter name: see `onnxParameters` for the names and shapes. */
export type OnnxWeights = ReadonlyMap<string, OnnxTensor>;
