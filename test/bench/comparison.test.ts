import { describe, expect, it } from "vitest";
import {
  finalTables,
  formatRow,
  INFER_LABELS,
  latestRows,
  ratio,
  speedUpTable,
  TRAIN_LABELS,
  type ComparisonRow,
} from "../../bench/comparison.js";
import { summarize } from "../../bench/timing.js";

const row = (
  key: string,
  threads: number,
  ours: number[],
  theirs: number[] | undefined,
  more: Partial<ComparisonRow> = {},
): ComparisonRow => ({
  bench: "train",
  key,
  name: `net ${key}`,
  variant: "-",
  threads,
  status: "ok",
  ours: summarize(ours),
  oursCpu: summarize(ours.map((x) => x / 2)),
  ...(theirs && { theirs: summarize(theirs), theirsCpu: summarize(theirs) }),
  load: [3, 4.25],
  ...more,
});

const failed = (key: string, threads: number, error: string): ComparisonRow => ({
  bench: "train",
  key,
  name: `net ${key}`,
  variant: "-",
  threads,
  status: "failed",
  error,
  load: [9, 12],
});

describe("the comparison tables", () => {
  it("prints a row's medians, ranges, CPU times, ratio and load average", () => {
    const r = row("mini", 1, [400, 380, 460], [200, 190, 260]);
    expect(ratio(r)).toBe(2);
    expect(formatRow(r)).toBe(
      "| net mini | - | 1 | 400 (380-460) | 200 | 200 (190-260) | 200 | **2.00** | 1.00 | 3.0 -> 4.3 |",
    );
  });

  it("says why the other side is missing, and what a failed row died of, on one line", () => {
    expect(
      formatRow(row("mini", 1, [400], undefined, { theirsNote: "python3-torch is not installed" })),
    ).toBe(
      "| net mini | - | 1 | 400 | 200 | (python3-torch is not installed) | | | | 3.0 -> 4.3 |",
    );
    expect(formatRow(failed("xception", 1, "exited with 7:\nRuntimeError: Aborted() | x"))).toBe(
      "| net xception | - | 1 | failed: exited with 7: RuntimeError: Aborted() / x | | | | | | 9.0 -> 12.0 |",
    );
  });

  it("gives each side's speed-up from the fewest to the most threads, per case and variant", () => {
    const rows = [
      row("mini", 1, [600], [300]),
      row("mini", 2, [400], [150]),
      // The cost model chose differently at each thread count: the rows pair up all the same.
      row("mini4", 1, [900], [300], { variant: "auto: native x11", strategy: "auto" }),
      row("mini4", 2, [600], [200], { variant: "auto: split x2, native x9", strategy: "auto" }),
      row("mini4", 2, [500], [200], { variant: "split: split x11", strategy: "split" }), // no 1-thread row
      failed("xception", 1, "timed out"),
      row("xception", 2, [20_000], [8000]),
    ];
    expect(speedUpTable(rows, TRAIN_LABELS)).toEqual([
      "| network | grouped layers | archc 1 -> 2 threads | PyTorch 1 -> 2 threads |",
      "| --- | --- | ---: | ---: |",
      "| net mini | - | 1.50x | 2.00x |",
      "| net mini4 | auto | 1.50x | 1.50x |",
    ]);
    expect(speedUpTable([row("mini", 2, [1], [1])], TRAIN_LABELS)).toEqual([]);
  });

  it("keeps the last row of a case, variant and thread count; a later success replaces a failure", () => {
    const rows = [
      failed("xception", 1, "timed out"),
      row("mini", 1, [600], [300]),
      row("mini", 1, [500], [300]),
      row("xception", 1, [20_000], [8000], { variant: "-" }),
      failed("mini", 2, "aborted"),
    ];
    expect(latestRows(rows).map((r) => [r.key, r.threads, r.status, r.ours?.median])).toEqual([
      ["mini", 1, "ok", 500],
      ["xception", 1, "ok", 20_000],
      ["mini", 2, "failed", undefined],
    ]);
  });

  it("prints the final tables with the inference labels and the load average's range", () => {
    const out = finalTables(
      [
        { ...row("mini", 1, [40], [20]), bench: "infer" },
        { ...row("mini", 2, [30], [10]), load: [2, 7.5] },
      ],
      INFER_LABELS,
    );
    expect(out[0]).toContain("| archc run ms/pass (min-max) |");
    expect(out[0]).toContain("| onnxruntime ms/pass (min-max) |");
    expect(out).toContain("| net mini | - | 1.33x | 2.00x |");
    expect(out[out.length - 1]).toBe("load average (1 min) while these rows ran: 2.0-7.5");
  });
});
