import type * as tf from "@tensorflow/tfjs";

type TfActivation = NonNullable<Parameters<typeof tf.layers.activation>[0]>["activation"];

/**
 * archc's activation names in tfjs' spelling. leaky_relu is a layer of its own in tfjs, not an
 * activation identifier, and tfjs has no hard_swish nor h_sigmoid (archc's HardSwish and HSigmoid layers compute
 * them), so they map to undefined and the builder adds that layer.
 */
export function tfActivation(name: string): TfActivation | undefined {
  switch (name) {
    case "none":
    case "linear":
      return "linear";
    case "hard_sigmoid":
      return "hardSigmoid";
    case "gelu":
      return "gelu";
    case "leaky_relu":
    case "hard_swish":
    case "h_sigmoid":
      return undefined;
    default:
      return name as TfActivation;
  }
}
