import { dirname } from "node:path";
import type { Json } from "../../language/elaborate/values.js";
import { atomicWrite, FileProblem, isMissing, readRegular } from "../../util/files.js";
import { sha256 } from "./identity.js";

/** A checkpoint (or other framed file) that cannot be used; the message names the file and why. */
export class CheckpointError extends Error {}

/** This format: the checksum covers every byte before it, the header included. */
const magic = Buffer.from("ARCHCKP3");
/** The format before it, whose header lay outside the checksum. */
const olderMagic = Buffer.from("ARCHCKPT");
const digestBytes = 32;
/** Where the header starts: after the magic, the file's length and the header's length. */
const start = magic.length + 8 + 4;

/**
 * A self-checking file: magic, the file's length (8 bytes), the header's length (4 bytes), a JSON
 * header, the payload, and the sha256 of all of that. Nothing is parsed before the checksum holds, so no damaged byte, in the
 * header or the data, is ever used. Written to a temporary file and renamed, so a reader sees
 * the old file or the new one, never half of one.
 */
export function writeFramed(
  path: string,
  header: { [k: string]: Json },
  payload: Uint8Array,
): void {
  const head = Buffer.from(JSON.stringify({ ...header, bytes: payload.length }));
  const body = start + head.length + payload.length;
  const out = Buffer.alloc(body + digestBytes);
  magic.copy(out, 0);
  out.writeBigUInt64LE(BigInt(out.length), magic.length);
  out.writeUInt32LE(head.length, magic.length + 8);
  head.copy(out, start);
  Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).copy(
    out,
    start + head.length,
  );
  Buffer.from(sha256(out.subarray(0, body)), "hex").copy(out, body);
  atomicWrite(path, out);
}

/** Reads and verifies a framed file; CheckpointError says what is wrong with it. */
export function readFramed(path: string): { header: { [k: string]: Json }; payload: Buffer } {
  let buf: Buffer;
  try {
    buf = readRegular(path, { within: dirname(path) });
  } catch (e) {
    if (isMissing(e)) throw new CheckpointError(`${path} does not exist`);
    if (e instanceof FileProblem) throw new CheckpointError(e.message);
    throw e;
  }
  return decodeFramed(path, buf);
}

/** Verifies and splits the bytes of a framed file read from `path` (named in errors). */
export function decodeFramed(
  path: string,
  buf: Buffer,
): { header: { [k: string]: Json }; payload: Buffer } {
  if (buf.length >= olderMagic.length && buf.subarray(0, olderMagic.length).equals(olderMagic))
    throw new CheckpointError(
      `${path} was written by an older archc, whose checkpoints do not checksum their header; start again with --fresh`,
    );
  if (buf.length < magic.length || !buf.subarray(0, magic.length).equals(magic))
    throw new CheckpointError(
      `${path} is not an archc checkpoint (it does not start with ${magic.toString()})`,
    );
  if (buf.length < start + digestBytes)
    throw new CheckpointError(`${path} is cut short: ${buf.length} bytes`);
  // A length that disagrees is a cut or padded file, or a damaged length: all are refused.
  const written = buf.readBigUInt64LE(magic.length);
  if (written !== BigInt(buf.length))
    throw new CheckpointError(
      written > BigInt(buf.length)
        ? `${path} is cut short (or damaged): it has ${buf.length} bytes, ${written} were written`
        : `${path} is padded (or damaged): it has ${buf.length} bytes, ${written} were written`,
    );
  const body = buf.length - digestBytes;
  if (sha256(buf.subarray(0, body)) !== buf.subarray(body).toString("hex"))
    throw new CheckpointError(
      `${path} is damaged: its data does not match the checksum written with it`,
    );
  // Only a file written this way, or made to look so on purpose, gets here.
  const len = buf.readUInt32LE(magic.length + 8);
  if (start + len > body)
    throw new CheckpointError(`${path} is not a valid checkpoint: its header runs past its end`);
  let header: unknown;
  try {
    header = JSON.parse(buf.subarray(start, start + len).toString("utf8"));
  } catch {
    throw new CheckpointError(`${path} is not a valid checkpoint: its header is not JSON`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header))
    throw new CheckpointError(`${path} is not a valid checkpoint: its header is not an object`);
  const payload = buf.subarray(start + len, body);
  const h = header as { [k: string]: Json };
  if (h["bytes"] !== payload.length)
    throw new CheckpointError(
      `${path} is not a valid checkpoint: ${payload.length} bytes of data where its header says ${String(h["bytes"])}`,
    );
  return { header: h, payload };
}
