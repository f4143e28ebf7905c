import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { fallbackTrainConfig } from "../../../compiler/language/config/train.js";
import { syntheticDataset } from "../../../compiler/lab/train/data/index.js";
import type { Dataset } from "../../../compiler/lab/train/data/dataset.js";
import { train } from "../../../compiler/lab/train/loop.js";
import { mustBuild } from "../../helpers.js";

const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
beforeAll(async () => {
  await initBackend("wasm");
});

const graph = mustBuild(
  "network n(classes = 4) {\n  input 8x8x1\n  conv 3x3 4 -> relu\n  gap -> dense classes softmax\n}\n",
);
const data = syntheticDataset({ shape: [8, 8, 1], classes: 4, size: 64, seed: 3 });

/** The same batches, each delivered `ms` later than asked for: a loader that cannot keep up. */
function slowed(d: Dataset, ms: number): Dataset {
  return {
    ...d,
    batches: async function* (size, opts) {
      for await (const b of d.batches(size, opts)) {
        await new Promise((r) => setTimeout(r, ms));
        yield b;
      }
    },
  };
}

async function epochOf(d: Dataset) {
  const outDir = mkdtempSync(join(tmpdir(), "archc-wait-"));
  temps.push(outDir);
  const r = await train({
    model: buildModelFromIR(graph),
    config: fallbackTrainConfig,
    train: d,
    epochs: 1,
    batch: 8,
    outDir,
    resume: false,
    seed: 1,
    probabilities: true,
  });
  return r.history[0]!;
}

/**
 * Each epoch records how long its steps waited for data, so a user (and `npm run bench -- data`)
 * can tell a loader that keeps up from one that starves the step.
 */
describe("time waiting for data", () => {
  it("counts the time a batch arrives late, and not the time the step computes", async () => {
    const slow = await epochOf(slowed(data, 40));
    // 8 batches, each at least 40 ms late.
    expect(slow.dataWaitSeconds!).toBeGreaterThanOrEqual(8 * 0.04 * 0.95);
    expect(slow.dataWaitSeconds!).toBeLessThanOrEqual(slow.seconds);
    const fast = await epochOf(data);
    expect(fast.dataWaitSeconds!).toBeGreaterThanOrEqual(0);
    expect(fast.dataWaitSeconds!).toBeLessThan(slow.dataWaitSeconds! - 8 * 0.04 * 0.5);
  }, 60_000);
});
