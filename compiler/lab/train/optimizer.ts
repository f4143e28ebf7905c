import * as tf from "@tensorflow/tfjs";
import type { Optimizer } from "../../language/config/train.js";
import { fusedMomentum } from "../../backends/tfjs/fusedMomentum.js";

/**
 * tfjs optimizers for the config's; momentum variants as Keras/TensorFlow define them. SGD with
 * momentum steps each variable in one fused kernel call where the backend has it (wasm).
 */
export function makeOptimizer(o: Optimizer): tf.Optimizer {
  switch (o.kind) {
    case "sgd":
      return o.momentum > 0 ? fusedMomentum(o.lr, o.momentum, o.nesterov) : tf.train.sgd(o.lr);
    case "rmsprop":
      return tf.train.rmsprop(o.lr, o.rho, o.momentum, o.epsilon);
    case "adam":
      return tf.train.adam(o.lr, o.beta1, o.beta2, o.epsilon);
  }
}

/**
 * Sets the learning rate a schedule asks for. tfjs' SGD (and momentum, its subclass) steps with a
 * tensor of -lr made when the rate is set, so it has its own setter; RMSprop and Adam read the
 * field, which their types mark protected, on every step. Unchanged rates cost nothing.
 */
export function setLearningRate(opt: tf.Optimizer, lr: number): void {
  // Not `instanceof tf.SGDOptimizer`: tfjs' Optimizer answers instanceof for any optimizer.
  const o = opt as unknown as { learningRate: number; setLearningRate?: (lr: number) => void };
  if (o.learningRate === lr) return;
  if (typeof o.setLearningRate === "function") o.setLearningRate(lr);
  else o.learningRate = lr;
}
