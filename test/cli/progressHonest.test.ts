import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { RowEta, trainingBar, variantBar } from "../../compiler/cli/progress.js";
import { stopPoint } from "../../compiler/cli/commands/train.js";
import type { StepReport } from "../../compiler/lab/train/metrics.js";

/** A terminal stand-in: what the bars draw, as text. */
class FakeTerminal extends Writable {
  text = "";
  isTTY = true;
  columns = 200;
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    this.text += chunk.toString();
    done();
  }
}

const io = (lines: string[]) => ({ out: () => {}, err: (t: string) => lines.push(t) });

const report = (step: number, batches = 10, epochs = 3): StepReport => ({
  epoch: Math.floor((step - 1) / batches),
  batch: ((step - 1) % batches) + 1,
  batches,
  epochs,
  step,
  loss: 1,
  accuracy: 0.5,
  imagesPerSec: 100,
});

describe("progress that says what its numbers are", () => {
  it("the training bar labels its ETAs as the epoch's and the run's", () => {
    const term = new FakeTerminal();
    const bar = trainingBar(io([]), "net", 3, true, term);
    for (let s = 1; s <= 4; s++) bar.step(report(s));
    bar.stop();
    expect(term.text).toMatch(/ETA epoch \d+:\d\d, run \d+:\d\d/);
    expect(term.text).not.toMatch(/\| ETA \d/);
  });

  it("nothing is drawn after halt (Ctrl-C), so the stop message stays the last line", () => {
    const term = new FakeTerminal();
    const bar = trainingBar(io([]), "net", 3, true, term);
    bar.step(report(1));
    bar.step(report(2));
    bar.halt();
    const drawn = term.text;
    bar.step(report(3));
    bar.step(report(11));
    bar.stop();
    expect(term.text).toBe(drawn);
  });

  it("the stop message names the step its checkpoint holds", () => {
    expect(stopPoint({ epoch: 2, batch: 7, batches: 10, step: 17 })).toBe(
      "step 17 (epoch 2, batch 7/10)",
    );
  });

  it("a sweep's ETA counts only the rows measured, not those found in results.jsonl", () => {
    let t = 0;
    const eta = new RowEta(() => t);
    expect(eta.left(5)).toBeUndefined();
    // Ten rows from results.jsonl at once, then one row measured in 60 s; one row is left.
    for (let i = 0; i < 10; i++) eta.row(true);
    expect(eta.left(2)).toBeUndefined();
    t = 60_000;
    eta.row(false);
    // Over all eleven rows it would say 5 s; the measured rate says a minute.
    expect(eta.left(1)).toBeCloseTo(60);
    t = 90_000;
    eta.row(false);
    expect(eta.left(2)).toBeCloseTo(90);
  });

  it("the sweep bar shows that ETA", () => {
    const term = new FakeTerminal();
    const bar = variantBar(io([]), 3, true, term);
    bar.tick("a", true);
    bar.stop();
    expect(term.text).toMatch(/ETA \? \| a/);
  });
});
