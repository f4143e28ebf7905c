import type { Json } from "../../language/elaborate/values.js";
import {
  parseSafetensors,
  SafetensorsError,
  type RawTensor,
} from "../../backends/torch/safetensors.js";
import { FileProblem, isMissing, readRegular } from "../../util/files.js";
import { CheckpointError } from "../run/frame.js";

/**
 * A torch-engine checkpoint (checkpoint.bin, best.bin): one safetensors file holding the model's
 * state dict under `model/`, the optimizer's tensors under `optimizer/`, and in its metadata the
 * training state as JSON, all under the file's digest (runner.py writes it: encode_checkpoint).
 * Never a pickle: nothing in a run folder is executed.
 */
export const torchCheckpointFormat = "archc-torch-checkpoint";
export const torchCheckpointVersion = "2";

export interface TorchCheckpoint {
  /** The runner's state: { state, history, best, optimizer, rng }. */
  readonly state: { readonly [k: string]: Json };
  readonly tensors: ReadonlyMap<string, RawTensor>;
  readonly network: string;
}

/**
 * A pickle (torch.save's zip, "PK", or a bare pickle, protocol byte 0x80), told apart from
 * safetensors by its ninth byte: safetensors' 8-byte header length is followed by the JSON
 * header's "{", while the length's own first byte can be anything, 0x80 and "PK" included.
 */
const pickled = (b: Uint8Array) =>
  b[8] !== 0x7b && ((b[0] === 0x50 && b[1] === 0x4b) || b[0] === 0x80);

/**
 * Reads and verifies a torch-engine checkpoint; every problem is a CheckpointError that names the
 * file: not a regular file, a pickle, damaged (digest), another format, another run (`key`).
 */
export function readTorchCheckpoint(path: string, key?: string): TorchCheckpoint {
  let bytes: Buffer;
  try {
    bytes = readRegular(path);
  } catch (e) {
    if (isMissing(e)) throw new CheckpointError(`${path} does not exist`);
    if (e instanceof FileProblem) throw new CheckpointError(e.message);
    throw e;
  }
  if (pickled(bytes))
    throw new CheckpointError(
      `${path} is a pickle (an older archc's torch checkpoint, or a file put there), which archc never loads; start again with --fresh`,
    );
  let parsed;
  try {
    parsed = parseSafetensors(bytes, { requireDigest: true });
  } catch (e) {
    if (e instanceof SafetensorsError)
      throw new CheckpointError(`${path} is not a usable archc torch checkpoint: it ${e.message}`);
    throw e;
  }
  const m = parsed.metadata;
  if (m["format"] !== torchCheckpointFormat || m["version"] !== torchCheckpointVersion)
    throw new CheckpointError(
      `${path} is not an archc torch checkpoint (format ${JSON.stringify(m["format"] ?? null)}, version ${JSON.stringify(m["version"] ?? null)})`,
    );
  if (key && m["key"] !== key)
    throw new CheckpointError(
      `${path} belongs to another run (key ${m["key"] || "none"}, this run's manifest says ${key}); start again with --fresh`,
    );
  let state: { [k: string]: Json };
  try {
    state = JSON.parse(m["state"] ?? "") as { [k: string]: Json };
  } catch {
    throw new CheckpointError(`${path} is damaged: its training state is not valid JSON`);
  }
  return { state, tensors: parsed.tensors, network: m["network"] ?? "" };
}

/** The model's state dict of a torch checkpoint (the generated module's keys). */
export function modelTensors(c: TorchCheckpoint): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  for (const [k, t] of c.tensors)
    if (k.startsWith("model/") && !k.endsWith("num_batches_tracked"))
      out.set(k.slice("model/".length), t);
  return out;
}
