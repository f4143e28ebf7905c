import { existsSync, readFileSync } from "node:fs";
import type { Json } from "../../language/elaborate/values.js";
import { atomicWrite } from "../../util/atomicWrite.js";
import { sha256 } from "./identity.js";

/** A checkpoint (or other framed file) that cannot be used; the message names the file and why. */
export class CheckpointError extends Error {}

const magic = Buffer.from("ARCHCKPT");

/**
 * A self-checking file: magic, a 4-byte header length, a JSON header that holds the sha256 of the
 * payload, then the payload. Written to a temporary file and renamed, so a reader sees the old
 * file or the new one, never half of one.
 */
export function writeFramed(
  path: string,
  header: { [k: string]: Json },
  payload: Uint8Array,
): void {
  const head = Buffer.from(
    JSON.stringify({ ...header, sha256: sha256(payload), bytes: payload.length }),
  );
  const out = Buffer.alloc(magic.length + 4 + head.length + payload.length);
  magic.copy(out, 0);
  out.writeUInt32LE(head.length, magic.length);
  head.copy(out, magic.length + 4);
  Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).copy(
    out,
    magic.length + 4 + head.length,
  );
  atomicWrite(path, out);
}

/** Reads and verifies a framed file; CheckpointError says what is wrong with it. */
export function readFramed(path: string): { header: { [k: string]: Json }; payload: Buffer } {
  if (!existsSync(path)) throw new CheckpointError(`${path} does not exist`);
  const buf = readFileSync(path);
  if (buf.length < magic.length + 4 || !buf.subarray(0, magic.length).equals(magic))
    throw new CheckpointError(
      `${path} is not an archc checkpoint (it does not start with ARCHCKPT)`,
    );
  const len = buf.readUInt32LE(magic.length);
  const start = magic.length + 4;
  if (start + len > buf.length)
    throw new CheckpointError(
      `${path} is cut short: its header says ${len} bytes, the file has ${buf.length - start}`,
    );
  let header: { [k: string]: Json };
  try {
    header = JSON.parse(buf.subarray(start, start + len).toString("utf8")) as { [k: string]: Json };
  } catch {
    throw new CheckpointError(`${path} is damaged: its header is not valid JSON`);
  }
  const payload = buf.subarray(start + len);
  if (typeof header["bytes"] === "number" && payload.length !== header["bytes"])
    throw new CheckpointError(
      `${path} is cut short or padded: ${payload.length} bytes of data where ${header["bytes"]} were written`,
    );
  if (header["sha256"] !== sha256(payload))
    throw new CheckpointError(
      `${path} is damaged: its data does not match the checksum written with it`,
    );
  return { header, payload };
}
