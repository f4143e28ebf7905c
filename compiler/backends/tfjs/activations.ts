import type * as tf from "@tensorflow/tfjs";
import type { Activation, ActivationTable } from "../../language/ir/activations.js";

type TfActivation = NonNullable<Parameters<typeof tf.layers.activation>[0]>["activation"];

/**
 * How tfjs computes each activation: an identifier its layers take (`fn`, which a conv or dense
 * layer can fuse), or a layer of its own. leaky_relu is tfjs' LeakyReLU layer, not an activation
 * identifier, and tfjs has no hard_swish nor h_sigmoid (archc's HardSwish and HSigmoid layers
 * compute them).
 */
export type TfjsActivation =
  { readonly fn: TfActivation } | { readonly layer: "leakyReLU" | "hardSwish" | "hSigmoid" };

export const tfjsActivations: ActivationTable<TfjsActivation> = {
  none: { fn: "linear" },
  linear: { fn: "linear" },
  relu: { fn: "relu" },
  relu6: { fn: "relu6" },
  elu: { fn: "elu" },
  selu: { fn: "selu" },
  gelu: { fn: "gelu" },
  sigmoid: { fn: "sigmoid" },
  hard_sigmoid: { fn: "hardSigmoid" },
  hard_swish: { layer: "hardSwish" },
  h_sigmoid: { layer: "hSigmoid" },
  tanh: { fn: "tanh" },
  softmax: { fn: "softmax" },
  softplus: { fn: "softplus" },
  swish: { fn: "swish" },
  leaky_relu: { layer: "leakyReLU" },
};

/** The activation in tfjs' spelling, or undefined where it takes a layer of its own. */
export function tfActivation(name: Activation): TfActivation | undefined {
  const a = tfjsActivations[name];
  return "fn" in a ? a.fn : undefined;
}
