/** Which part of a node a kernel belongs to: the node itself, or a separable step. */
export type KernelPart = "layer" | "spatial" | "pointwise";

/**
 * The naming contract of ONNX initializers: the IR node's name plus `/kernel` and `/bias` (conv,
 * dense), `/spatial/kernel`, `/pointwise/kernel` and one `/bias` (sepconv, whichever step comes
 * last), `/gamma`, `/beta`, `/moving_mean`, `/moving_variance` (bn), `/gamma`, `/beta` (layernorm) and
 * `/gamma` (layerscale).
 */
export function parameterName(node: string, weight: string, part: KernelPart = "layer"): string {
  return part === "layer" || weight !== "kernel" ? `${node}/${weight}` : `${node}/${part}/kernel`;
}
