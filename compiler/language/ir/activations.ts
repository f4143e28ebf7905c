import { activations, type Activation } from "./activationNames.js";
import type { IRNode } from "./types.js";

export { activations, type Activation } from "./activationNames.js";

/** One entry per activation: a backend's lowering of them, checked complete by the compiler. */
export type ActivationTable<R> = { readonly [A in Activation]: R };

export function isActivation(word: string): word is Activation {
  return (activations as readonly string[]).includes(word);
}

/** `none` and `linear` both mean f(x) = x: a backend adds nothing for them. */
export function isIdentity(fn: Activation): boolean {
  return fn === "none" || fn === "linear";
}

/** The numbers that define an activation beyond its name, e.g. leaky_relu's slope. */
export type ActivationConstants = Readonly<Record<string, number>>;

/**
 * The constants of every parameterised activation, as Keras defines them (and tfjs follows):
 * what a backend must reproduce to compute the same function. The IR carries the entries its
 * nodes use, so no backend hard-codes them. An activation missing here has no constants.
 */
const constants: Readonly<Partial<Record<Activation, ActivationConstants>>> = {
  // Keras' LeakyReLU layer, which tfjs' leakyReLU follows; tf.nn.leaky_relu would be 0.2.
  leaky_relu: { alpha: 0.3 },
  elu: { alpha: 1 },
  // SELU's fixed point constants (Klambauer et al. 2017), in float64 as Keras writes them.
  selu: { alpha: 1.6732632423543772, gamma: 1.0507009873554805 },
  // Keras 2's piecewise-linear form: clip(slope * x + offset, 0, 1).
  hard_sigmoid: { slope: 0.2, offset: 0.5 },
  // PyTorch's Hardsigmoid, relu6(x + 3) / 6 = clip(x / 6 + 1 / 2, 0, 1): the same form.
  h_sigmoid: { slope: 1 / 6, offset: 0.5 },
  relu6: { max: 6 },
};

export function activationConstants(name: Activation): ActivationConstants {
  return constants[name] ?? {};
}

/**
 * The activations a node applies: its `mid` (a separable convolution's, between its steps) and its
 * own `activation`, the two attributes an op may hold an activation in (checked below).
 */
export function activationsOf(node: IRNode): Activation[] {
  const a = node.attrs;
  return [...("mid" in a ? [a.mid] : []), ...("activation" in a ? [a.activation] : [])];
}

/** The attributes of each of the attribute types `A` that hold an activation. */
type ActivationKeys<A> = A extends unknown
  ? {
      [K in keyof A]-?: [A[K]] extends [never] ? never : A[K] extends Activation ? K : never;
    }[keyof A]
  : never;

/**
 * A compile error when an op keeps an activation under another attribute, which activationsOf
 * (and so the IR's `activations` table and validateIR) would not see.
 */
const onlyMidAndActivation: Exclude<
  ActivationKeys<IRNode["attrs"]>,
  "mid" | "activation"
> extends never
  ? true
  : never = true;
void onlyMidAndActivation;

/** The IR's `activations` table for a list of nodes: each activation used, with its constants. */
export function activationTable(nodes: readonly IRNode[]): Record<string, ActivationConstants> {
  const names = [...new Set(nodes.flatMap(activationsOf))].sort();
  return Object.fromEntries(names.map((n) => [n, activationConstants(n)]));
}
