import * as tf from "@tensorflow/tfjs";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Json } from "../../language/elaborate/values.js";
import { CheckpointError, readFramed, writeFramed } from "../run/frame.js";
import { runPaths } from "../run/paths.js";
import type { EpochMetrics } from "./metrics.js";

export { CheckpointError } from "../run/frame.js";

/** Sums over the batches of the epoch in progress, so that its metrics survive a stop. */
export interface PartialEpoch {
  readonly lossSum: number;
  readonly accSum: number;
  readonly seen: number;
  readonly seconds: number;
  /** Of `seconds`, waiting for batches (absent in checkpoints from before it was measured). */
  readonly dataWait?: number;
}

/** Everything needed to continue training exactly where it stopped. */
export interface CheckpointState {
  readonly epoch: number;
  /** Batches of `epoch` already done; 0 at an epoch boundary. */
  readonly batch: number;
  readonly step: number;
  readonly samples: number;
  readonly rng: readonly number[];
  readonly network: string;
  readonly params: number;
  readonly partial?: PartialEpoch;
  /** Every finished epoch: the checkpoint, not metrics.jsonl, is the record of what was done. */
  readonly history?: readonly EpochMetrics[];
  /** The best epoch on validation so far, and epochs since it (for --patience). */
  readonly best?: {
    readonly epoch: number;
    readonly valLoss: number;
    readonly valAccuracy: number;
  };
  readonly sinceBest?: number;
  /** Set when early stopping ended the run. */
  readonly stoppedEarly?: boolean;
}

interface TensorEntry {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

export const checkpointFile = "checkpoint.bin";

/**
 * One self-checking file (lab/run/frame.ts): a JSON header with the run's key, the training
 * state and the tensor table, then float32 data whose sha256 the header holds. Written to a
 * temporary file and renamed, so an interrupted save leaves the previous checkpoint intact.
 */
export async function saveCheckpoint(
  path: string,
  model: tf.LayersModel,
  optimizer: tf.Optimizer | undefined,
  state: CheckpointState,
  /** The run's identity key (manifest.json); a checkpoint of another run is refused on load. */
  key?: string,
): Promise<void> {
  const named: { name: string; tensor: tf.Tensor }[] = [
    ...model.weights.map((w) => ({ name: `model/${w.originalName}`, tensor: w.read() })),
    ...(optimizer ? await optimizer.getWeights() : []).map((w) => ({
      name: `optimizer/${w.name}`,
      tensor: w.tensor,
    })),
  ];
  const entries: TensorEntry[] = [];
  const chunks: Float32Array[] = [];
  let offset = 0;
  for (const { name, tensor } of named) {
    const data = (await tensor.data()) as Float32Array;
    entries.push({ name, shape: tensor.shape, offset, length: data.length });
    chunks.push(Float32Array.from(data));
    offset += data.length;
  }
  const payload = new Uint8Array(offset * 4);
  let pos = 0;
  for (const c of chunks) {
    payload.set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), pos);
    pos += c.byteLength;
  }
  writeFramed(
    path,
    {
      format: "archc-checkpoint",
      version: 2,
      ...(key ? { key } : {}),
      state: state as unknown as Json,
      tensors: entries as unknown as Json,
    },
    payload,
  );
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, checkpointFile));
}

const count = (x: unknown): x is number =>
  typeof x === "number" && Number.isSafeInteger(x) && x >= 0;

/**
 * The header's state and tensor table, with every field that loading uses checked: a file that
 * passed its checksum was written by archc, or made to look so on purpose, and neither may reach
 * the model as an internal error.
 */
function checkedHeader(
  path: string,
  header: { [k: string]: Json },
): { state: CheckpointState; tensors: TensorEntry[] } {
  const bad = (what: string) =>
    new CheckpointError(`${path} is not a valid checkpoint: ${what}; start again with --fresh`);
  const state = header["state"] as unknown as Partial<CheckpointState> | null;
  if (state === null || typeof state !== "object" || Array.isArray(state))
    throw bad("it holds no training state");
  for (const k of ["epoch", "batch", "step", "samples"] as const)
    if (!count(state[k])) throw bad(`its state's ${k} is not a count`);
  if (!Array.isArray(state.rng) || !state.rng.every((x) => typeof x === "number"))
    throw bad("its state's random generator is not a list of numbers");
  if (state.history !== undefined && !Array.isArray(state.history))
    throw bad("its history is not a list");
  const tensors = header["tensors"] as unknown;
  if (!Array.isArray(tensors)) throw bad("it has no tensor table");
  for (const t of tensors as Partial<TensorEntry>[]) {
    if (
      t === null ||
      typeof t !== "object" ||
      typeof t.name !== "string" ||
      !Array.isArray(t.shape) ||
      !t.shape.every(count) ||
      !count(t.offset) ||
      !count(t.length)
    )
      throw bad("an entry of its tensor table is not a name, shape, offset and length");
  }
  return { state: state as CheckpointState, tensors: tensors as TensorEntry[] };
}

const sameShape = (a: readonly number[], b: readonly (number | null)[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The training state, tensor table and data of a framed checkpoint, every part checked (the
 * frame's checksum, the format, the run's key, the header's fields, each tensor inside the data);
 * separate from loading so that what a file holds can be checked without a model.
 */
export function decodeCheckpoint(
  path: string,
  { header, payload }: { header: { [k: string]: Json }; payload: Buffer },
  key?: string,
): { state: CheckpointState; tensors: TensorEntry[]; data: Float32Array } {
  if (header["format"] !== "archc-checkpoint")
    throw new CheckpointError(`${path} is not an archc training checkpoint`);
  if (key && header["key"] !== key)
    throw new CheckpointError(
      `${path} belongs to another run (key ${String(header["key"] ?? "none")}, this run's manifest says ${key}); start again with --fresh`,
    );
  const { state, tensors } = checkedHeader(path, header);
  if (payload.length % 4 !== 0)
    throw new CheckpointError(`${path} is damaged: its data is not a whole number of floats`);
  // Copy out of the file buffer: Float32Array views need 4-byte alignment.
  const data = new Float32Array(
    payload.buffer.slice(payload.byteOffset, payload.byteOffset + payload.length),
  );
  for (const t of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.length || t.offset + t.length > data.length)
      throw new CheckpointError(`${path} is damaged: tensor ${t.name} lies outside its data`);
  }
  return { state, tensors, data };
}

/**
 * Restores model (and optimizer) weights from a run folder's checkpoint, or from the checkpoint
 * file given; returns where training stood. Every problem is a CheckpointError naming the file:
 * damaged (checksum), cut short, not a checkpoint, of another run (key), of another network
 * (weights missing or of other shapes). Nothing is written to the model until all is checked.
 */
export async function loadCheckpoint(
  dirOrFile: string,
  model: tf.LayersModel,
  /** Without one, only the model's weights are restored (for export and inference). */
  optimizer?: tf.Optimizer,
  /** The key the run expects; a checkpoint written under another is refused. */
  key?: string,
): Promise<CheckpointState> {
  const path = dirOrFile.endsWith(".bin") ? dirOrFile : runPaths(dirOrFile).checkpoint;
  const { state, tensors, data } = decodeCheckpoint(path, readFramed(path), key);
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const plan: { w: tf.LayerVariable; t: TensorEntry }[] = [];
  for (const w of model.weights) {
    const t = byName.get(`model/${w.originalName}`);
    if (!t)
      throw new CheckpointError(
        `${path} has no weight ${w.originalName}: it was made for another network (${state.network ?? "unknown"}, ${state.params ?? "?"} parameters; this one has ${model.countParams()})`,
      );
    if (!sameShape(t.shape, w.shape))
      throw new CheckpointError(
        `${path} holds ${w.originalName} with shape [${t.shape.join(", ")}], but this network's is [${w.shape.join(", ")}]: it was made for another network or other arguments`,
      );
    plan.push({ w, t });
  }
  const tensor = (t: TensorEntry) =>
    tf.tensor(data.subarray(t.offset, t.offset + t.length), t.shape);
  for (const { w, t } of plan) w.write(tensor(t));
  const opt = tensors
    .filter((t) => t.name.startsWith("optimizer/"))
    .map((t) => ({ name: t.name.slice(10), tensor: tensor(t) }));
  if (optimizer && opt.length) await optimizer.setWeights(opt);
  else tf.dispose(opt.map((o) => o.tensor));
  return state;
}
