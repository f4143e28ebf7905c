import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadResults } from "../../../compiler/lab/report/load.js";
import { aggregateSeeds } from "../../../compiler/lab/sweep/aggregate.js";
import { plotSweep } from "../../../compiler/lab/sweep/plot.js";

const fixture = join(import.meta.dirname, "..", "report", "fixtures", "stages");

describe("archc sweep --plot over three axes", () => {
  it("shows the third axis as small multiples and labels Pareto points with every axis value", async () => {
    const loaded = loadResults(fixture);
    if (!loaded.ok) throw new Error(loaded.message);
    const svg = await plotSweep(aggregateSeeds(loaded.rows), ["p1", "p2", "p3"]);
    // One panel per value of p3, with p3 named as the panels' title.
    expect(svg).toContain(">p3=1</text>");
    expect(svg).toContain(">p3=depthwise</text>");
    // The Pareto front's points are labelled with every axis value, so (dw, dw, dw) and
    // (dw, 1, dw) are told apart at a glance; points off the front are left unlabelled.
    expect(svg).toContain(">p1=depthwise, p2=depthwise, p3=depthwise</text>");
    expect(svg).toContain(">p1=depthwise, p2=1, p3=depthwise</text>");
    expect(svg).not.toContain(">p1=1, p2=1, p3=1</text>");
  });
});
