import * as tf from "@tensorflow/tfjs";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { atomicWrite } from "../../util/atomicWrite.js";

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
}

interface TensorEntry {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

export const checkpointFile = "checkpoint.bin";

/**
 * One file: a 4-byte header length, a JSON header, then float32 data. Written to a temporary
 * file and renamed, so an interrupted save leaves the previous checkpoint intact.
 */
export async function saveCheckpoint(
  dir: string,
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  state: CheckpointState,
): Promise<void> {
  const named: { name: string; tensor: tf.Tensor }[] = [
    ...model.weights.map((w) => ({ name: `model/${w.originalName}`, tensor: w.read() })),
    ...(await optimizer.getWeights()).map((w) => ({
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
  const header = Buffer.from(
    JSON.stringify({ format: "archc-checkpoint", version: 1, state, tensors: entries }),
  );
  const out = Buffer.alloc(4 + header.length + offset * 4);
  out.writeUInt32LE(header.length, 0);
  header.copy(out, 4);
  let pos = 4 + header.length;
  for (const c of chunks) {
    Buffer.from(c.buffer, c.byteOffset, c.byteLength).copy(out, pos);
    pos += c.byteLength;
  }
  atomicWrite(join(dir, checkpointFile), out);
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, checkpointFile));
}

/** Restores model and optimizer weights; returns where training stood. */
export async function loadCheckpoint(
  dir: string,
  model: tf.LayersModel,
  /** Without one, only the model's weights are restored (for export and inference). */
  optimizer?: tf.Optimizer,
): Promise<CheckpointState> {
  const buf = readFileSync(join(dir, checkpointFile));
  const len = buf.readUInt32LE(0);
  const header = JSON.parse(buf.subarray(4, 4 + len).toString("utf8")) as {
    format: string;
    state: CheckpointState;
    tensors: TensorEntry[];
  };
  if (header.format !== "archc-checkpoint")
    throw new Error(`${join(dir, checkpointFile)} is not an archc checkpoint`);
  // Copy out of the file buffer: Float32Array views need 4-byte alignment.
  const data = new Float32Array(
    buf.buffer.slice(buf.byteOffset + 4 + len, buf.byteOffset + buf.length),
  );
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  const tensor = (t: TensorEntry) =>
    tf.tensor(data.subarray(t.offset, t.offset + t.length), t.shape);
  for (const w of model.weights) {
    const t = byName.get(`model/${w.originalName}`);
    if (!t)
      throw new Error(
        `checkpoint in ${dir} has no weight ${w.originalName}: it was made for another network`,
      );
    w.write(tensor(t));
  }
  const opt = header.tensors
    .filter((t) => t.name.startsWith("optimizer/"))
    .map((t) => ({ name: t.name.slice(10), tensor: tensor(t) }));
  if (optimizer && opt.length) await optimizer.setWeights(opt);
  else tf.dispose(opt.map((o) => o.tensor));
  return header.state;
}
