import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type * as tf from "@tensorflow/tfjs";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { runPaths } from "../../../compiler/lab/run/paths.js";
import { decodeFramed } from "../../../compiler/lab/run/frame.js";
import {
  CheckpointError,
  decodeCheckpoint,
  loadCheckpoint,
} from "../../../compiler/lab/train/checkpoint.js";
import { mustBuildFile, runCli } from "../../helpers.js";

/**
 * A checkpoint's header (training state, tensor table, run key) is under its checksum like its
 * data: every single-bit flip of a small checkpoint's header, and flips spread over its data and
 * checksum, must be refused as a CheckpointError naming the file, never loaded, never a crash.
 */
const spec = `network small(classes = 4) {
  input 8x8x3
  conv 3x3/2 8 -> bn -> relu
  gap -> dense classes softmax
}
`;

let dir: string;
let file: string;
let good: Buffer;
let model: tf.LayersModel;

/** Where the header ends, for this format ("ARCHCKP3") and the one before ("ARCHCKPT"). */
function headerEnd(buf: Buffer): number {
  const magic = buf.subarray(0, 8).toString();
  return magic === "ARCHCKPT" ? 12 + buf.readUInt32LE(8) : 20 + buf.readUInt32LE(16);
}

/** One short training run of the small network into `out`. */
const trainSmall = (out: string) =>
  runCli(
    "train",
    file,
    "--data",
    "synthetic:16",
    "--epochs",
    "1",
    "--batch",
    "8",
    "--quiet",
    "--out",
    out,
  );

beforeAll(async () => {
  await initBackend("wasm");
  dir = mkdtempSync(join(tmpdir(), "archc-flips-"));
  file = join(dir, "small.arch");
  writeFileSync(file, spec);
  const run = join(dir, "run");
  const r = await trainSmall(run);
  expect(r.code, r.stderr).toBe(0);
  good = readFileSync(runPaths(run).checkpoint);
  model = buildModelFromIR(mustBuildFile(file));
}, 120_000);

type Outcome = "located" | "loaded" | "other";

/** A copy of a checkpoint (the good one by default) with one bit flipped. */
function flipped(byte: number, bit: number, of: Buffer = good): Buffer {
  const bad = Buffer.from(of);
  bad[byte]! ^= 1 << bit;
  return bad;
}

/** Whether reading a damaged checkpoint was refused naming `path`, or loaded. */
async function outcome(path: string, read: () => unknown): Promise<Outcome> {
  try {
    await read();
    return "loaded";
  } catch (e) {
    return e instanceof CheckpointError && e.message.includes(path) ? "located" : "other";
  }
}

/** Decodes a flipped copy in memory, every check of loading but the model's shapes. */
const flipAndDecode = (path: string, byte: number, bit: number) =>
  outcome(path, () => decodeCheckpoint(path, decodeFramed(path, flipped(byte, bit))));

/** Writes a flipped copy and loads it into the model, as training and export do. */
const flipAndLoad = (path: string, byte: number, bit: number) =>
  outcome(path, () => {
    writeFileSync(path, flipped(byte, bit));
    return loadCheckpoint(path, model);
  });

describe("checkpoint bit flips", () => {
  it("every single-bit flip of the header, and flips across the data, is refused naming the file", async () => {
    const path = join(dir, "flipped.bin");
    const end = headerEnd(good);
    const tally: Record<Outcome, number> = { located: 0, loaded: 0, other: 0 };
    const examples: string[] = [];
    const count = async (byte: number, bit: number) => {
      const o = await flipAndDecode(path, byte, bit);
      tally[o]++;
      if (o !== "located" && examples.length < 5) examples.push(`byte ${byte} bit ${bit}: ${o}`);
    };
    for (let byte = 0; byte < end; byte++) for (let bit = 0; bit < 8; bit++) await count(byte, bit);
    const headerFlips = end * 8;
    // The data and the checksum after it: 64 flips spread evenly.
    for (let i = 0; i < 64; i++) {
      const byte = end + Math.floor(((good.length - end - 1) * i) / 63);
      await count(byte, i % 8);
    }
    expect({ ...tally, examples }).toEqual({
      located: headerFlips + 64,
      loaded: 0,
      other: 0,
      examples: [],
    });
  }, 120_000);

  it("30 flips written to disk and loaded into the model are refused naming the file", async () => {
    const path = join(dir, "loaded.bin");
    const end = headerEnd(good);
    const outcomes: string[] = [];
    for (let i = 0; i < 30; i++) {
      const byte = Math.floor(((end - 1) * i) / 29);
      const o = await flipAndLoad(path, byte, i % 8);
      if (o !== "located") outcomes.push(`byte ${byte} bit ${i % 8}: ${o}`);
    }
    expect(outcomes).toEqual([]);
  }, 60_000);

  it("through the command line, a flipped checkpoint is exit 1 naming the file", async () => {
    const run = join(dir, "cli");
    const r = await trainSmall(run);
    expect(r.code, r.stderr).toBe(0);
    const ckpt = runPaths(run).checkpoint;
    const saved = readFileSync(ckpt);
    const end = headerEnd(saved);
    const bad: string[] = [];
    // Flips in the header's lengths, its JSON and the data.
    for (const byte of [9, 17, 30, Math.floor(end / 2), end - 2, end + 5, saved.length - 40]) {
      writeFileSync(ckpt, flipped(byte, 2, saved));
      const x = await runCli("export", run, "-o", join(dir, "x.onnx"));
      if (x.code !== 1 || !x.stderr.includes(ckpt))
        bad.push(`byte ${byte}: exit ${x.code}: ${x.stderr}`);
    }
    expect(bad).toEqual([]);
  }, 120_000);
});
