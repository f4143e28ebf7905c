import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import type { Optimizer } from "../../../compiler/language/config/train.js";
import { makeOptimizer, setLearningRate } from "../../../compiler/lab/train/optimizer.js";

/** The weights after `steps` steps of a fixed gradient, with the rate set before each step. */
function train(config: Optimizer, rates: readonly number[]): number[] {
  const w = tf.variable(tf.tensor1d([1, -2, 3]));
  const opt = makeOptimizer(config);
  for (const lr of rates) {
    if (lr !== config.lr) setLearningRate(opt, lr);
    tf.tidy(() => opt.applyGradients({ [w.name]: tf.tensor1d([0.5, -1, 2]) }));
  }
  const out = Array.from(w.dataSync());
  opt.dispose();
  w.dispose();
  return out;
}

const configs: Optimizer[] = [
  { kind: "sgd", lr: 0.1, momentum: 0, nesterov: false },
  { kind: "sgd", lr: 0.1, momentum: 0.9, nesterov: false },
  { kind: "sgd", lr: 0.1, momentum: 0.9, nesterov: true },
  { kind: "rmsprop", lr: 0.1, momentum: 0.9, rho: 0.9, epsilon: 1e-7 },
  { kind: "adam", lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
];

// A schedule sets the rate between steps; every optimizer must then step at the new rate, as one
// built with it would. tfjs' SGD and momentum keep -lr in a tensor made when the rate is set, so
// writing the field alone left them at the first rate for the whole run.
describe("setLearningRate", () => {
  for (const config of configs) {
    const name = `${config.kind}${"nesterov" in config && config.nesterov ? " (nesterov)" : ""}, momentum ${"momentum" in config ? config.momentum : "-"}`;
    it(`${name}: steps at the rate set, as an optimizer built with it does`, () => {
      const scheduled = train(config, [0.01, 0.01, 0.01]);
      const built = train({ ...config, lr: 0.01 }, [0.01, 0.01, 0.01]);
      for (let i = 0; i < built.length; i++) expect(scheduled[i]).toBeCloseTo(built[i]!, 6);
      // and the run at the first rate is a different one: the test can tell them apart
      const unscheduled = train(config, [0.1, 0.1, 0.1]);
      expect(Math.abs(unscheduled[0]! - built[0]!)).toBeGreaterThan(1e-3);
    });
  }
});
