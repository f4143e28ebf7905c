import * as tf from "@tensorflow/tfjs";
import type { Optimizer } from "../../language/config/train.js";

/** tfjs optimizers for the config's; momentum variants as Keras/TensorFlow define them. */
export function makeOptimizer(o: Optimizer): tf.Optimizer {
  switch (o.kind) {
    case "sgd":
      return o.momentum > 0 ? tf.train.momentum(o.lr, o.momentum, o.nesterov) : tf.train.sgd(o.lr);
    case "rmsprop":
      return tf.train.rmsprop(o.lr, o.rho, o.momentum, o.epsilon);
    case "adam":
      return tf.train.adam(o.lr, o.beta1, o.beta2, o.epsilon);
  }
}

/**
 * Sets the learning rate a schedule asks for. tfjs keeps it in a field its types mark
 * protected; every optimizer reads it on each step, so writing it is how schedules work there.
 */
export function setLearningRate(opt: tf.Optimizer, lr: number): void {
  (opt as unknown as { learningRate: number }).learningRate = lr;
}
