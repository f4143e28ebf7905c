import * as tf from "@tensorflow/tfjs";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type ConvShape,
  LEAVE_PRIOR_MARGIN,
  STRATEGIES,
  type StrategyName,
  calibrationClock,
  measureStrategies,
  pickTimed,
} from "../../../compiler/backends/tfjs/grouped/index.js";
import { setKernelThreads } from "../../../compiler/backends/tfjs/kernels/pool.js";

// How the cost model times its candidates (costModel.ts' measureStrategies) and what it takes
// from the times (pickTimed): interleaved rounds, each candidate's least disturbed run, CPU time
// on one thread, and the prior's pick kept within a margin. Calibration under load used to
// time candidates one after the other by wall-clock and flip between them from run to run.

const shape: ConvShape = {
  batch: 2,
  inHeight: 6,
  inWidth: 6,
  inChannels: 8,
  outChannels: 8,
  kernelHeight: 3,
  kernelWidth: 3,
  strides: [1, 1],
  dilation: [1, 1],
  padding: "same",
  groups: 2,
};

const table = STRATEGIES as Record<StrategyName, (typeof STRATEGIES)[StrategyName]>;
const originals = { ...STRATEGIES };

/** Busy for `ms` of this thread's CPU time (and so of the wall-clock). */
function burn(ms: number): void {
  const c0 = process.cpuUsage();
  const spent = () => {
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000;
  };
  while (spent() < ms);
}

beforeAll(async () => {
  await tf.setBackend("cpu");
});

afterEach(() => {
  Object.assign(table, originals);
  setKernelThreads(undefined);
});

describe("calibration", () => {
  it("times the candidates in interleaved rounds, the order reversed every other round", () => {
    const calls: StrategyName[] = [];
    for (const name of ["split", "blockdiag"] as const) {
      table[name] = (x, k, o) => {
        calls.push(name);
        return originals[name](x, k, o);
      };
    }
    const times = measureStrategies(shape, ["split", "blockdiag"], {
      warmup: 1,
      runs: 3,
      giveUp: 1000,
    });
    expect(calls).toEqual([
      ...["split", "blockdiag"], // warm-up
      ...["blockdiag", "split"],
      ...["split", "blockdiag"],
      ...["blockdiag", "split"],
    ]);
    expect(Object.keys(times).sort()).toEqual(["blockdiag", "split"]);
  });

  it("keeps each candidate's least disturbed run", () => {
    // split is disturbed in its first two timed runs (calls 2 and 3), never in its last.
    let n = 0;
    table.split = (x, k, o) => {
      n++;
      if (n === 2 || n === 3) burn(60);
      return originals.split(x, k, o);
    };
    const times = measureStrategies(shape, ["split", "blockdiag"], {
      warmup: 1,
      runs: 3,
      giveUp: 1000,
    });
    expect(n).toBe(4);
    expect(times.split!).toBeLessThan(60);
  });

  it("stops timing a candidate that is giveUp times the best", () => {
    let slow = 0;
    table.blockdiag = (x, k, o) => {
      slow++;
      burn(40);
      return originals.blockdiag(x, k, o);
    };
    const times = measureStrategies(shape, ["split", "blockdiag"], {
      warmup: 1,
      runs: 4,
      giveUp: 2,
    });
    // The warm-up and the first timed round, then it is dropped.
    expect(slow).toBe(2);
    expect(times.blockdiag!).toBeGreaterThanOrEqual(40);
    expect(times.split!).toBeLessThan(times.blockdiag! / 2);
  });

  it("counts CPU time where one thread does the work, the wall-clock where several do", () => {
    expect(calibrationClock("cpu")).toBe("cpu");
    setKernelThreads(1);
    expect(calibrationClock("wasm")).toBe("cpu");
    setKernelThreads(2);
    expect(calibrationClock("wasm")).toBe("wall");
    expect(calibrationClock("webgl")).toBe("wall");
    expect(calibrationClock("tensorflow")).toBe("wall");
  });

  it("waiting for a core is not CPU time", async () => {
    // A strategy that sleeps 50 ms (a descheduled thread, as on a loaded machine).
    table.split = (x, k, o) => {
      const until = Date.now() + 50;
      while (Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      return originals.split(x, k, o);
    };
    const cpu = measureStrategies(shape, ["split"], { runs: 1, clock: "cpu" });
    const wall = measureStrategies(shape, ["split"], { runs: 1, clock: "wall" });
    expect(wall.split!).toBeGreaterThanOrEqual(50);
    expect(cpu.split!).toBeLessThan(40);
  });

  it("takes the fastest, but keeps the prior's pick within the margin", () => {
    const m = 1 + LEAVE_PRIOR_MARGIN;
    expect(pickTimed({ native: 10 * m, dense: 10 }, "native")).toBe("native");
    expect(pickTimed({ native: 10 * m * 1.01, dense: 10 }, "native")).toBe("dense");
    expect(pickTimed({ native: 9, dense: 10 }, "native")).toBe("native");
    expect(pickTimed({ split: 9, dense: 10 }, "native")).toBe("split"); // prior not timed
    expect(pickTimed({ native: 10, dense: 10.5, split: 12 }, "native", ["native"])).toBe("dense");
    expect(pickTimed({}, "native")).toBeUndefined();
  });
});
