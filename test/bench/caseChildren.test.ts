import { describe, expect, it } from "vitest";
import { failureLine } from "../../bench/caseChildren.js";

describe("a dead bench child's reason", () => {
  it("is the last error line of its stderr, not the stack or Node's banner", () => {
    const stderr = [
      "/work/node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.node.js:8597",
      "                    throw ex;",
      "                    ^",
      "",
      "RuntimeError: Aborted(). Build with -sASSERTIONS for more info.",
      "    at abort (tf-backend-wasm.node.js:100:11)",
      "    at async file:///work/dist/bench/run.js:37:5 {",
      "  layer: 'entry/sep_unit/sepconv/spatial',",
      "}",
      "",
      "Node.js v20.20.2",
    ];
    expect(failureLine(stderr)).toBe(
      "RuntimeError: Aborted(). Build with -sASSERTIONS for more info.",
    );
  });

  it("falls back to the last line that is not a frame, or says there was none", () => {
    expect(failureLine(["something went wrong", "    at f (x.js:1:1)", "Node.js v20.20.2"])).toBe(
      "something went wrong",
    );
    expect(failureLine([])).toBe("no message");
  });
});
