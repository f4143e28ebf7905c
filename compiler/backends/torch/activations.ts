import {
  activationConstants,
  type Activation,
  type ActivationTable,
} from "../../language/ir/activations.js";

/**
 * Each activation in PyTorch: the function the prelude's `Activation` module applies (Python
 * text, constants from the IR's table), and the torch.nn module a standalone layer of it becomes
 * where one computes exactly that.
 */
interface TorchActivation {
  readonly fn: string;
  readonly module?: string;
}

const c = (fn: Activation, key: string) => String(activationConstants(fn)[key]);

export const torchActivations: ActivationTable<TorchActivation> = {
  none: { fn: "lambda x: x" },
  linear: { fn: "lambda x: x" },
  relu: { fn: "F.relu", module: "nn.ReLU" },
  relu6: { fn: "F.relu6", module: "nn.ReLU6" },
  elu: { fn: "F.elu", module: "nn.ELU" },
  selu: { fn: "F.selu", module: "nn.SELU" },
  // Exact (erf) GELU, torch's default and tfjs' gelu.
  gelu: { fn: "F.gelu", module: "nn.GELU" },
  sigmoid: { fn: "torch.sigmoid", module: "nn.Sigmoid" },
  hard_sigmoid: {
    fn: `lambda x: torch.clamp(${c("hard_sigmoid", "slope")} * x + ${c("hard_sigmoid", "offset")}, 0.0, 1.0)`,
  },
  hard_swish: { fn: "F.hardswish", module: "nn.Hardswish" },
  h_sigmoid: { fn: "F.hardsigmoid", module: "nn.Hardsigmoid" },
  tanh: { fn: "torch.tanh", module: "nn.Tanh" },
  softmax: { fn: "lambda x: torch.softmax(x, dim=1)" },
  softplus: { fn: "F.softplus", module: "nn.Softplus" },
  swish: { fn: "F.silu", module: "nn.SiLU" },
  leaky_relu: { fn: `lambda x: F.leaky_relu(x, ${c("leaky_relu", "alpha")})` },
};

/** The prelude's `_activations` dict, every activation's function by name. */
export function pyActivationDict(): string {
  const entries = Object.entries(torchActivations).map(([k, v]) => `    "${k}": ${v.fn},`);
  return ["_activations = {", ...entries, "}"].join("\n");
}
