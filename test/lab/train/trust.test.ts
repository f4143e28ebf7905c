import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readFramed } from "../../../compiler/lab/run/frame.js";
import { runPaths } from "../../../compiler/lab/run/paths.js";
import { runCli } from "../../helpers.js";
import { guardSigint, interruptWhen } from "../interrupt.js";

const repo = join(import.meta.dirname, "..", "..", "..");
const tiny = join(repo, "examples", "tiny.arch");
const tmp = () => mkdtempSync(join(tmpdir(), "archc-trust-"));

guardSigint({
  ARCHC_CACHE_DIR: join(repo, "test", ".generated", "cache"),
  ARCHC_GROUPED_STRATEGY: "split",
});

const train = (out: string, ...more: string[]) =>
  runCli(
    "train",
    tiny,
    "--data",
    "synthetic:48",
    "--epochs",
    "2",
    "--batch",
    "8",
    "--backend",
    "wasm",
    "--out",
    out,
    "--quiet",
    ...more,
  );

function weights(dir: string): Float32Array {
  const { payload } = readFramed(runPaths(dir).checkpoint);
  return new Float32Array(
    payload.buffer.slice(payload.byteOffset, payload.byteOffset + payload.length),
  );
}

const metrics = (dir: string) =>
  readFileSync(runPaths(dir).metrics, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, number>)
    .map(({ loss, accuracy, valLoss, valAccuracy, step, epoch }) => ({
      loss,
      accuracy,
      valLoss,
      valAccuracy,
      step,
      epoch,
    }));

describe("train: stop, resume, and folders that are never mixed", () => {
  it("SIGINT mid-epoch stops within a step, exits 130, and --resume ends where an uninterrupted run ends", async () => {
    const straight = join(tmp(), "r");
    expect((await train(straight)).code).toBe(0);
    const split = join(tmp(), "r");
    // Send Ctrl-C as soon as the run folder is set up: training then stops after its first step.
    const stopped = await interruptWhen(
      () => existsSync(runPaths(split).manifest),
      () => train(split),
    );
    expect(stopped.code).toBe(130);
    // The message names the step the checkpoint holds, and is the last thing printed.
    const said =
      /stopped; step (\d+) \(epoch 1, batch (\d+)\/\d+\) saved in .*checkpoint\.bin\. .*--resume\n$/.exec(
        stopped.stderr,
      );
    expect(said, stopped.stderr).not.toBeNull();
    expect(existsSync(runPaths(split).checkpoint)).toBe(true);
    const state = readFramed(runPaths(split).checkpoint).header["state"] as {
      epoch: number;
      batch: number;
      step: number;
    };
    expect([state.step, state.batch]).toEqual([Number(said![1]), Number(said![2])]);
    expect(state.epoch).toBe(0);
    expect(state.batch).toBeGreaterThan(0);
    expect(state.batch).toBeLessThan(6);
    const resumed = await train(split, "--resume");
    expect(resumed.code).toBe(0);
    const a = weights(straight);
    const b = weights(split);
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    expect(diff).toBeLessThan(1e-6);
    const ma = metrics(straight);
    const mb = metrics(split);
    expect(mb.map((m) => m.epoch)).toEqual([1, 2]);
    for (const [i, m] of ma.entries()) {
      for (const k of ["loss", "accuracy", "valLoss", "valAccuracy", "step"] as const)
        expect(mb[i]![k]).toBeCloseTo(m[k]!, 5);
    }
    expect(readFileSync(runPaths(split).csv, "utf8").split("\n")[0]).toBe(
      "epoch,step,lr,loss,accuracy,val_loss,val_accuracy,images_per_sec,seconds,data_wait_seconds",
    );
  });

  it("a rerun without --resume asks for --resume or --fresh; --resume with other arguments names them", async () => {
    const out = join(tmp(), "r");
    const first = await train(out, "--epochs", "1");
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    const before = readFileSync(runPaths(out).metrics, "utf8");
    const again = await train(out, "--epochs", "1");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already holds a run: pass --resume to continue it, or --fresh/);
    expect(readFileSync(runPaths(out).metrics, "utf8")).toBe(before);
    const other = await train(out, "--resume", "-s", "classes=7", "--lr", "0.5");
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/args\.classes: 7 now, 10 in the run/);
    expect(other.stderr).toMatch(/train\.optimizer\.lr: 0\.5 now, 0\.01 in the run/);
    expect(other.stderr).not.toMatch(/internal error/);
    const fresh = await train(out, "--fresh", "--epochs", "1", "--seed", "4");
    expect(fresh.stderr).toBe("");
    expect(fresh.code).toBe(0);
    expect(readFileSync(runPaths(out).metrics, "utf8").trim().split("\n")).toHaveLength(1);
    // Training for longer continues the same run.
    const longer = await train(out, "--resume", "--epochs", "2", "--seed", "4");
    expect(longer.stderr).toBe("");
    expect(longer.code).toBe(0);
    expect(metrics(out).map((m) => m.epoch)).toEqual([1, 2]);
  });

  it("damaged, cut and foreign checkpoints are diagnostics naming the file, never internal errors", async () => {
    const out = join(tmp(), "r");
    expect((await train(out, "--epochs", "1")).code).toBe(0);
    const ckpt = runPaths(out).checkpoint;
    const good = readFileSync(ckpt);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 100]! ^= 0x40;
    writeFileSync(ckpt, flipped);
    const damaged = await train(out, "--resume");
    expect(damaged.code).toBe(1);
    expect(damaged.stderr).toContain(`${ckpt} is damaged: its data does not match the checksum`);
    writeFileSync(ckpt, good.subarray(0, 2000));
    const cut = await train(out, "--resume");
    expect(cut.code).toBe(1);
    expect(cut.stderr).toContain(`${ckpt} is cut short`);
    // Another run's checkpoint (another seed, so another identity) copied in.
    const other = join(tmp(), "o");
    expect((await train(other, "--epochs", "1", "--seed", "9")).code).toBe(0);
    copyFileSync(runPaths(other).checkpoint, ckpt);
    const foreign = await train(out, "--resume");
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toContain(`${ckpt} belongs to another run`);
    writeFileSync(ckpt, good);
    expect((await train(out, "--resume")).code).toBe(0);
  });

  it("--lr Infinity and other bad numbers are usage errors", async () => {
    for (const bad of [
      ["--lr", "Infinity"],
      ["--lr", "-1"],
      ["--checkpoint-minutes", "x"],
      ["--patience", "0"],
    ]) {
      const r = await train(join(tmp(), "r"), ...bad);
      expect(r.code).toBe(2);
    }
  });
});
