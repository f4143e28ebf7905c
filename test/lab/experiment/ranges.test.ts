import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Diagnostic } from "../../../grammar/diagnostic.js";
import { planSearch, type SearchPlan } from "../../../compiler/lab/experiment/search.js";
import { loadProgram } from "../../../compiler/language/program.js";
import { show } from "../../../compiler/language/elaborate/values.js";

const ranges = join(import.meta.dirname, "ranges.arch");
const stages = join(import.meta.dirname, "stages.arch");

const planned = (r: SearchPlan | Diagnostic[]): SearchPlan => {
  if (Array.isArray(r)) throw new Error(r.map((d) => d.message).join("; "));
  return r;
};
const points = (p: SearchPlan) =>
  p.variants.map((v) => [...v.point].map(([k, x]) => `${k}=${show(x)}`).join(" "));

describe("ranges in design spaces", () => {
  it("an experiment's ranges give the space its explicit lists give", () => {
    const program = loadProgram(ranges);
    const ranged = planned(planSearch(program, { experiment: "ranged" }));
    const listed = planned(planSearch(program, { experiment: "listed" }));
    expect(ranged.space).toBe(6);
    expect(points(ranged)).toEqual(points(listed));
  });

  it("--sweep takes the same ranges, alone or among listed values", () => {
    const program = loadProgram(stages);
    const plan = (...sweep: string[]) =>
      points(planned(planSearch(program, { network: "stages", sweep })));
    expect(plan("p1=1,2..8 step 2", "width=8..24 step 8")).toEqual(
      plan("p1=1,2,4,6,8", "width=8,16,24"),
    );
    // The end is included when the steps reach it, and never passed.
    expect(plan("width=8..20 step 8")).toEqual(plan("width=8,16"));
    expect(plan("width=8..10")).toEqual(plan("width=8,9,10"));
  });

  it("an empty or ill-formed range in --sweep is a diagnostic that says what would be right", () => {
    const program = loadProgram(stages);
    const fails = (text: string) => {
      const r = planSearch(program, { network: "stages", sweep: [text] });
      if (!Array.isArray(r)) throw new Error(`${text} planned`);
      return r[0]!;
    };
    const empty = fails("width=16..8");
    expect(empty.message).toContain("the range 16..8 is empty");
    expect(empty.hint).toBe("ranges count up: 8..16");
    expect(empty.span.file).toBe("--sweep width");
    expect(fails("width=8..16 step 0").message).toContain("step must be 1 or more, not 0");
    expect(fails("width=8..16.5").message).toContain("end must be an integer");
    expect(fails("width=8 step 2").message).toContain("'step' follows a range");
    expect(fails("width=1..100000").message).toContain("at most 10,000");
  });
});
