import { describe, expect, it } from "vitest";
import { formatSummary, median, quantile, summarize } from "../../bench/timing.js";

describe("bench statistics", () => {
  it("takes the median of odd and even counts, whatever the order", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it("interpolates quantiles between sorted values (numpy's default)", () => {
    const xs = [40, 10, 30, 20];
    expect(quantile(xs, 0)).toBe(10);
    expect(quantile(xs, 1)).toBe(40);
    expect(quantile(xs, 0.25)).toBeCloseTo(17.5);
    expect(quantile(xs, 0.75)).toBeCloseTo(32.5);
    expect(quantile([7], 0.25)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it("summarises steps as median, range and quartiles", () => {
    expect(summarize([300, 100, 200, 900, 250])).toEqual({
      n: 5,
      median: 250,
      min: 100,
      max: 900,
      q1: 200,
      q3: 300,
    });
  });

  it("prints the median and range, seconds for steps over 10 s, no range for one step", () => {
    expect(formatSummary(summarize([412.4, 398, 440]))).toBe("412 (398-440)");
    expect(formatSummary(summarize([41.24, 39.8, 44]))).toBe("41.2 (39.8-44.0)");
    expect(formatSummary(summarize([21_300, 20_900, 22_000]))).toBe("21.3 s (20.9-22.0)");
    expect(formatSummary(summarize([412.4, 398, 440]), false)).toBe("412");
    expect(formatSummary(summarize([5000]))).toBe("5000");
    expect(formatSummary(undefined)).toBe("-");
  });
});
