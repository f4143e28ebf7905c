import { layerPads, paddedOutSize } from "../../language/ir/geometry.js";
import type { IRNode } from "../../language/ir/types.js";

/**
 * TensorFlow's 'same' padding as ONNX's explicit pads, [top, left, bottom, right] (the shared
 * geometry's layerPads): the odd pixel goes bottom/right, which ONNX's auto_pad SAME_UPPER also
 * means but not every runtime implements identically for dilated or strided windows; explicit
 * pads leave nothing to interpretation.
 */
export function tfPads(...layer: Parameters<typeof layerPads>): number[] {
  // The shared [top, bottom, left, right]; ONNX wants the begins, then the ends.
  const [t, b, l, r] = layerPads(...layer);
  return [t, l, b, r];
}

/** ONNX's Conv/Pool output size for explicit pads [top, left, bottom, right] (floor mode). */
export function onnxOutSize(
  input: readonly number[],
  kernel: readonly number[],
  strides: readonly number[],
  dilation: readonly number[],
  pads: readonly number[],
): number[] {
  return [0, 1].map((i) =>
    paddedOutSize(input[i]!, kernel[i]!, strides[i]!, dilation[i]!, pads[i]!, pads[i + 2]!),
  );
}

/** Throws if ONNX would compute another spatial size than the IR says: a lowering bug. */
export function checkSpatial(node: IRNode, hw: readonly number[]): void {
  if (hw[0] !== node.shape[0] || hw[1] !== node.shape[1])
    throw new Error(
      `internal error: ONNX ${node.op} '${node.name}' would output ${hw.join("x")}, the IR says ${node.shape.slice(0, 2).join("x")}`,
    );
}
