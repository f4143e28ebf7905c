import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { appendResult, readResults } from "../../bench/results.js";
import { tempRoot } from "../tempRoot.js";

const root = tempRoot("bench-results");

describe("a bench's results file", () => {
  it("appends one JSON line a row and reads them back, creating its folder", () => {
    const path = join(root, "new", "train.jsonl");
    appendResult(path, { key: "mini", threads: 1 });
    appendResult(path, { key: "mini", threads: 2 });
    expect(readFileSync(path, "utf8").split("\n")).toHaveLength(3);
    expect(readResults(path)).toEqual({
      rows: [
        { key: "mini", threads: 1 },
        { key: "mini", threads: 2 },
      ],
      skipped: 0,
    });
  });

  it("skips a line cut short by a killed writer, and the next row starts a line of its own", () => {
    const path = join(root, "cut.jsonl");
    appendResult(path, { key: "mini", threads: 1 });
    appendFileSync(path, '{"key":"xception","thr'); // killed in the middle of a write
    appendResult(path, { key: "xception", threads: 1, status: "failed" });
    expect(readResults(path)).toEqual({
      rows: [
        { key: "mini", threads: 1 },
        { key: "xception", threads: 1, status: "failed" },
      ],
      skipped: 1,
    });
  });

  it("reads nothing from a missing file, and counts lines that are not objects", () => {
    expect(readResults(join(root, "absent.jsonl"))).toEqual({ rows: [], skipped: 0 });
    const path = join(root, "odd.jsonl");
    writeFileSync(path, '[1,2]\n42\n\n{"key":"mini"}\n');
    expect(readResults(path)).toEqual({ rows: [{ key: "mini" }], skipped: 2 });
  });
});
