import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { useWasm } from "../../../compiler/layers.js";

/** Generated TypeScript in a user's project trains on wasm after one documented call (issue 22.7). */
describe("useWasm() from archc/layers", () => {
  it("starts the wasm backend with the gradient kernels training needs", async () => {
    const b = await useWasm({ threads: 1 });
    expect(b.name).toBe("wasm");
    expect(tf.getBackend()).toBe("wasm");
    expect(tf.getKernel("Conv2DBackpropFilter", "wasm")).toBeDefined();
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 2, kernelSize: 3 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2, activation: "softmax" }),
      ],
    });
    model.compile({ optimizer: "sgd", loss: "categoricalCrossentropy" });
    const x = tf.randomNormal([4, 6, 6, 1], 0, 1, "float32", 1);
    const y = tf.oneHot(tf.tensor1d([0, 1, 0, 1], "int32"), 2);
    const h = await model.fit(x, y, { epochs: 2, batchSize: 2, verbose: 0 });
    expect(h.history["loss"]!.every((l) => Number.isFinite(l as number))).toBe(true);
    tf.dispose([x, y]);
    model.dispose();
  });
});
