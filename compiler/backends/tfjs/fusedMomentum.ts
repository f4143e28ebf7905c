import * as tf from "@tensorflow/tfjs";
import { momentumUpdate, momentumUpdateAvailable } from "./kernels/momentum.js";

// Why: tfjs' MomentumOptimizer spends four kernel calls a variable on every step (see
// kernels/momentum.ts). This one is tfjs' optimizer (same class name, slots, checkpoints and
// numbers) whose step is one ArchcMomentumUpdate call a variable where the active backend
// has that kernel (wasm with SIMD), and tfjs' own step elsewhere (cpu, webgl, tfjs-node).

/** MomentumOptimizer's private state, which this subclass keeps as tfjs keeps it. */
interface MomentumState {
  accumulations: { originalName: string; variable: tf.Variable }[];
  momentum: number;
  useNesterov: boolean;
  learningRate: number;
}

type Gradients = Parameters<tf.MomentumOptimizer["applyGradients"]>[0];

export class FusedMomentumOptimizer extends tf.MomentumOptimizer {
  override applyGradients(variableGradients: Gradients): void {
    if (!momentumUpdateAvailable()) return super.applyGradients(variableGradients);
    const self = this as unknown as MomentumState;
    const list = Array.isArray(variableGradients) ? variableGradients : undefined;
    const names = list ? list.map((v) => v.name) : Object.keys(variableGradients);
    const attrs = {
      momentum: self.momentum,
      learningRate: self.learningRate,
      nesterov: self.useNesterov,
    };
    names.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name]!;
      self.accumulations[i] ??= {
        originalName: `${name}/momentum`,
        variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      const accumulation = self.accumulations[i]!.variable;
      const gradient = list ? list[i]!.tensor : (variableGradients as tf.NamedTensorMap)[name];
      if (gradient == null) return;
      tf.tidy(() => {
        const [v, a] = momentumUpdate(value, accumulation, gradient, attrs);
        accumulation.assign(a);
        value.assign(v);
      });
    });
    this.incrementIterations();
  }
}

/** tfjs' train.momentum, with the fused step where the backend has it. */
export function fusedMomentum(
  learningRate: number,
  momentum: number,
  nesterov = false,
): tf.MomentumOptimizer {
  return new FusedMomentumOptimizer(learningRate, momentum, nesterov);
}
