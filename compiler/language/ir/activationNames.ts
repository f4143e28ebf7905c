/**
 * Every activation the language knows, in one list: the IR's activation type, the schema's enum
 * and every backend's activation table are keyed by it, so adding one is a compile error in each
 * place that must say how to compute it.
 */
export const activations = [
  "none",
  "linear",
  "relu",
  "relu6",
  "elu",
  "selu",
  "gelu",
  "sigmoid",
  "hard_sigmoid",
  "hard_swish",
  "h_sigmoid",
  "tanh",
  "softmax",
  "softplus",
  "swish",
  "leaky_relu",
] as const;
export type Activation = (typeof activations)[number];
