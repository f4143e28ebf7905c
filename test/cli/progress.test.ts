import { describe, expect, it } from "vitest";
import { Eta, formatDuration, trainingBar } from "../../compiler/cli/progress.js";

describe("progress", () => {
  it("estimates the time left from the steps it has timed", () => {
    let t = 0;
    const eta = new Eta(() => t);
    // Resumed at step 40 of 100: the first report starts the clock.
    expect(eta.update(40, 100)).toBeUndefined();
    t = 1000;
    expect(eta.update(41, 100)).toBeUndefined();
    t = 2000;
    // 2 steps in 2 s, 58 to go.
    expect(eta.update(42, 100)).toBeCloseTo(58);
    expect(formatDuration(58)).toBe("0:58");
    expect(formatDuration(3723)).toBe("1:02:03");
    expect(formatDuration(NaN)).toBe("?");
  });

  it("without a terminal, epochs are plain lines that say which loss is which", () => {
    const lines: string[] = [];
    const bar = trainingBar({ out: () => {}, err: (t) => lines.push(t) }, "tiny", 2, false);
    bar.step({
      epoch: 0,
      batch: 1,
      batches: 4,
      epochs: 2,
      step: 1,
      loss: 1,
      accuracy: 0.5,
      imagesPerSec: 9,
    });
    bar.epoch({
      epoch: 1,
      step: 4,
      lr: 0.1,
      loss: 0.9,
      accuracy: 0.6,
      valLoss: 1.1,
      valAccuracy: 0.4,
      imagesPerSec: 100,
      seconds: 2,
    });
    bar.epoch({
      epoch: 2,
      step: 8,
      lr: 0.1,
      loss: 0.8,
      accuracy: 0.7,
      imagesPerSec: 100,
      seconds: 2,
      dataWaitSeconds: 0.25,
    });
    expect(lines).toEqual([
      "tiny epoch 1/2: train loss 0.9000, train acc 0.6000, val loss 1.1000, val acc 0.4000, lr 0.100, 100.0 img/s, 2.0 s",
      "tiny epoch 2/2: train loss 0.8000, train acc 0.7000, lr 0.100, 100.0 img/s, 2.0 s (0.3 s of it waiting for data)",
    ]);
  });
});
