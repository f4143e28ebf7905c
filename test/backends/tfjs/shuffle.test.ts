import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { ChannelShuffle } from "../../../compiler/backends/tfjs/shuffle.js";
import { gradientSizes } from "./gradients.js";
import { compileSpec } from "../../../compiler/index.js";

const repo = join(import.meta.dirname, "..", "..", "..");

beforeAll(async () => {
  await initBackend("wasm");
});

describe("ChannelShuffle and upsampling in the tfjs runtime", () => {
  it("moves channel i * (c / g) + j to j * g + i, per pixel and example", () => {
    // Channel k of every pixel holds 100 * pixel + k, so where each value went is readable.
    const [n, h, w, c, g] = [2, 2, 3, 12, 3];
    const x = tf.tidy(() =>
      tf.add(
        tf.range(0, c).reshape([1, 1, 1, c]),
        tf
          .range(0, n * h * w)
          .reshape([n, h, w, 1])
          .mul(100),
      ),
    );
    const y = new ChannelShuffle({ groups: g }).apply(x) as tf.Tensor;
    const got = y.arraySync() as number[][][][];
    for (let p = 0; p < n * h * w; p++) {
      const pixel = got[Math.floor(p / (h * w))]![Math.floor(p / w) % h]![p % w]!;
      for (let i = 0; i < g; i++)
        for (let j = 0; j < c / g; j++) expect(pixel[j * g + i]).toBe(100 * p + i * (c / g) + j);
    }
    tf.dispose([x, y]);
  });

  it("refuses groups that do not divide the channels, naming them", () => {
    const layer = new ChannelShuffle({ groups: 5, name: "s" });
    expect(() => layer.apply(tf.input({ shape: [4, 4, 12] }))).toThrow(
      "ChannelShuffle 's': expected an NHWC input whose channels groups=5 divides, got [null, 4, 4, 12]",
    );
    expect(() => new ChannelShuffle({ groups: 0 })).toThrow("groups must be a positive integer");
  });

  it("serialises: a model with it survives toJSON and modelFromJSON", async () => {
    const model = buildModelFromIR(
      compileSpec(join(repo, "test", "backends", "ts", "cases", "shufflenet.arch")),
    );
    const json = model.toJSON(undefined, false) as never;
    const again = await tf.models.modelFromJSON({ modelTopology: json });
    const shuffles = again.layers.filter((l) => l.getClassName() === "ChannelShuffle");
    expect(shuffles.map((l) => (l as ChannelShuffle).groups)).toEqual([2, 2, 4]);
    model.dispose();
    again.dispose();
  });

  it("trains: gradients flow through shuffle and upsample to the first convolution", () => {
    const model = buildModelFromIR(
      compileSpec(join(repo, "test", "backends", "ts", "cases", "shufflenet.arch")),
    );
    // Every trainable weight, the first convolution's included, sits before or after a shuffle
    // and an upsampling; each must get a gradient from the loss. The loss is taken from logits
    // (the network ends in `dense` without softmax): an earlier version of this test ran
    // trainOnBatch with Keras' categoricalCrossentropy, which treats its input as probabilities,
    // and whenever an initialisation gave a logit row a negative sum every ratio was clipped to
    // 1e-7 (loss k x 16.118 / 4) and no weight moved. That was the test's fault, not the backend's.
    const x = tf.randomNormal([4, 16, 16, 3], 0, 1, "float32", 1);
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3], "int32"), 10);
    const { sizes: size, seen } = gradientSizes(model, x, labels);
    expect(model.trainableWeights[0]!.originalName).toBe("conv/kernel");
    expect(size.get("conv/kernel"), seen).toBeGreaterThan(0);
    expect(size.get("unit/conv/kernel"), seen).toBeGreaterThan(0);
    expect(size.get("dense/bias"), seen).toBeGreaterThan(0);
    tf.dispose([x, labels]);
    model.dispose();
  });
});
