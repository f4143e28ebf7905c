import * as tf from "@tensorflow/tfjs";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import type { TrainConfig } from "../../../compiler/language/config/train.js";
import {
  bnSettleSteps,
  planBatchNorm,
  withBnMomentum,
} from "../../../compiler/lab/train/batchNorm.js";
import { fashionMnistDir, openDataset } from "../../../compiler/lab/train/data/index.js";
import { recalibrateBatchNorm } from "../../../compiler/lab/train/preciseBn.js";
import { trainNetwork } from "../../../compiler/lab/train/session.js";
import { mustBuild } from "../../helpers.js";

const temps: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "archc-precise-bn-"));
  temps.push(d);
  return d;
};

beforeAll(async () => {
  await initBackend("wasm");
});
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** A tiny net for Fashion-MNIST: two convolutions with batch norm at Keras' momentum 0.99. */
const tiny = `network tiny(classes = 10) {
  input 28x28x1
  conv 3x3 8 -> bn -> relu
  maxpool 2x2/2
  conv 3x3 16 -> bn -> relu
  gap -> dense classes softmax
}
`;

describe("the batch-norm plan", () => {
  const graph = mustBuild(tiny);

  it("turns recalibration on, in auto, for runs shorter than the momentum needs", () => {
    expect(bnSettleSteps(0.99)).toBe(459);
    expect(bnSettleSteps(0.9)).toBe(44);
    expect(planBatchNorm(graph, "auto", 100, 3200)).toMatchObject({ precise: true, images: 3200 });
    expect(planBatchNorm(graph, "auto", 100, 60000).images).toBe(8192);
    expect(planBatchNorm(graph, "auto", 1000, 60000)).toEqual({ precise: false, images: 0 });
    expect(planBatchNorm(graph, "on", 1000, 60000).precise).toBe(true);
    const off = planBatchNorm(graph, "off", 100, 3200);
    expect(off.precise).toBe(false);
    expect(off.warning).toMatch(
      /too short for its batch norm \(100 steps, .* momentum 0\.99 settles in 459\)/,
    );
    // A lower momentum settles within the run: nothing to warn about.
    expect(planBatchNorm(withBnMomentum(graph, 0.9), "off", 100, 3200).warning).toBeUndefined();
    expect(
      planBatchNorm(mustBuild("network n {\n  input 4x4x1\n  gap -> dense 2\n}\n"), "off", 1, 1),
    ).toEqual({
      precise: false,
      images: 0,
    });
  });

  it("--bn-momentum reaches every batch norm and changes the network's identity", () => {
    const g = withBnMomentum(graph, 0.9);
    const ms = g.nodes.flatMap((n) => (n.op === "bn" ? [n.attrs.momentum] : []));
    expect(ms).toEqual([0.9, 0.9]);
    expect(graph.nodes.filter((n) => n.op === "bn").every((n) => n.attrs.momentum === 0.99)).toBe(
      true,
    );
  });
});

describe("recalibration", () => {
  it("sets each batch norm's moving statistics to those of its input over the images read", async () => {
    const graph = mustBuild("network b {\n  input 6x6x3\n  bn -> gap -> dense 4 softmax\n}\n");
    const model = buildModelFromIR(graph);
    const data = await openDataset("synthetic:40", {
      shape: [6, 6, 3],
      classes: 4,
      split: "train",
    });
    await recalibrateBatchNorm(model, data, { batch: 16, images: 40, seed: 1, epoch: 0 });
    // The batch norm reads the images themselves: its statistics are the data's, per channel.
    const xs: tf.Tensor4D[] = [];
    for await (const b of data.batches(40, { seed: 0, epoch: 0, shuffle: false })) {
      xs.push(b.x);
      b.y.dispose();
    }
    const { mean, variance } = tf.moments(xs[0]!, [0, 1, 2]);
    const bn = model.layers.find((l) => l.getClassName() === "BatchNormalization")!;
    const [, , movingMean, movingVariance] = bn.getWeights();
    const close = async (a: tf.Tensor, b: tf.Tensor) => {
      const [x, y] = [await a.data(), await b.data()];
      x.forEach((v, i) => expect(v).toBeCloseTo(y[i]!, 5));
    };
    await close(movingMean!, mean);
    await close(movingVariance!, variance);
    tf.dispose([...xs, mean, variance]);
    model.dispose();
  });
});

const config: TrainConfig = {
  name: "short",
  optimizer: { kind: "sgd", lr: 0.05, momentum: 0.9, nesterov: false },
  schedule: { kind: "constant" },
  weightDecay: 0,
  batch: 32,
  epochs: 1,
  labelSmoothing: 0,
};

describe("a short run on Fashion-MNIST", () => {
  const present = existsSync(fashionMnistDir);
  // CI installs the package (.ci/run) and must test it; a machine without it skips, and says why.
  const skip = !present && !process.env["CI"];
  it.skipIf(skip)(
    "evaluates at its real accuracy with precise BN, where the moving averages' lag hides it",
    async () => {
      if (!present)
        throw new Error(`${fashionMnistDir} is missing: apt-get install dataset-fashion-mnist`);
      const graph = mustBuild(tiny);
      // 50 steps of batch 32: a ninth of the 459 that momentum 0.99 needs to forget its start.
      const run = (preciseBn: "on" | "off") =>
        trainNetwork({
          graph,
          config,
          data: "fashion-mnist",
          limit: 1600,
          valLimit: 400,
          outDir: tempDir(),
          seed: 0,
          preciseBn,
        });
      const off = await run("off");
      const on = await run("on");
      // The same training either way (recalibration only runs at the epoch's end).
      expect(on.history[0]!.loss).toBeCloseTo(off.history[0]!.loss, 6);
      const [before, after] = [off.history[0]!.valAccuracy!, on.history[0]!.valAccuracy!];
      console.log(`precise BN on Fashion-MNIST, 50 steps: val accuracy ${before} -> ${after}`);
      expect(off.batchNorm.warning).toMatch(/too short for its batch norm/);
      expect(before).toBeLessThan(0.3);
      expect(after).toBeGreaterThan(0.3);
      expect(after - before).toBeGreaterThan(0.15);
      expect(on.valName).toBe("fashion-mnist (val)");
    },
  );
});
