import { describe, expect, it } from "vitest";
import { runPython } from "./python.js";

/**
 * The oracle's runs end at their test's limit, not at a per-run guess: runPython leaves the
 * event loop free (so vitest's timeout fires) and kills the process when the test's signal aborts.
 */
describe("running the Python oracle", () => {
  it("gives status and output of a run", async () => {
    const r = await runPython(["-c", "import sys; print('out'); sys.exit(3)"]);
    expect(r).toMatchObject({ status: 3, stdout: "out\n" });
  });

  it("kills a run when the signal aborts, while other work goes on", async () => {
    const stop = new AbortController();
    const run = runPython(["-c", "import time; time.sleep(600)"], stop.signal);
    // A timer fires while the run goes on: the event loop is free.
    await new Promise((r) => setTimeout(r, 50));
    stop.abort();
    await expect(run).rejects.toThrow(/abort/i);
  });
});
