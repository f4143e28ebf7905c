import { createHash } from "node:crypto";

/**
 * The safetensors format (an 8-byte little-endian header length, a JSON header, the raw
 * little-endian data), read and written strictly: what PyTorch users exchange weights in, simple
 * enough that the generated module and runner.py read it with json and struct alone, and never
 * unpickled.
 *
 * archc's files carry `__metadata__.archc_sha256`, the digest of `safetensorsDigest`: it covers
 * the metadata, every tensor's name, dtype and shape, and its bytes as its offsets locate them,
 * so a flipped bit anywhere, header included, or two tensors' offsets swapped, is caught.
 * runner.py computes the same digest (`digest()` there).
 */

/** A file that is not usable safetensors; the message says what is wrong (the caller names the file). */
export class SafetensorsError extends Error {}

/** The dtypes archc reads and writes, with their sizes in bytes. */
export const dtypeBytes = { F32: 4, F64: 8, I64: 8, U8: 1 } as const;
export type Dtype = keyof typeof dtypeBytes;

export interface RawTensor {
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  /** Little-endian bytes, exactly the tensor's. */
  readonly bytes: Uint8Array;
}

export interface Safetensors {
  readonly metadata: Readonly<Record<string, string>>;
  readonly tensors: ReadonlyMap<string, RawTensor>;
}

/** The metadata key that holds the digest. */
export const digestKey = "archc_sha256";

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** sha256 over the metadata (but the digest itself) and the tensors in name order. */
export function safetensorsDigest(
  metadata: Readonly<Record<string, string>>,
  tensors: ReadonlyMap<string, RawTensor>,
): string {
  const h = createHash("sha256");
  const z = "\0";
  for (const k of Object.keys(metadata).sort())
    if (k !== digestKey) h.update(`${k}${z}${metadata[k]}${z}`);
  for (const name of [...tensors.keys()].sort()) {
    const t = tensors.get(name)!;
    h.update(`${name}${z}${t.dtype}${z}${t.shape.join(",")}${z}`);
    h.update(t.bytes);
  }
  return h.digest("hex");
}

/** The bytes of a safetensors file: tensors in name order, the data 8-byte aligned, digested. */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, RawTensor>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const meta = { ...metadata, [digestKey]: safetensorsDigest(metadata, tensors) };
  const header: Record<string, unknown> = { __metadata__: meta };
  const names = [...tensors.keys()].sort();
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    header[name] = {
      dtype: t.dtype,
      shape: t.shape,
      data_offsets: [offset, offset + t.bytes.length],
    };
    offset += t.bytes.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + head.length + offset);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  let pos = 8 + head.length;
  for (const name of names) {
    const b = tensors.get(name)!.bytes;
    out.set(b, pos);
    pos += b.length;
  }
  return out;
}

const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

/**
 * Parses and verifies safetensors bytes: a header that fits the file, every tensor of a known
 * dtype with a shape whose size matches its offsets, the tensors tiling the data exactly (no gap,
 * overlap or trailing bytes), and the digest when the file carries one (`requireDigest`: it must).
 */
export function parseSafetensors(
  bytes: Uint8Array,
  o: { requireDigest?: boolean } = {},
): Safetensors {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8)
    throw new SafetensorsError(
      buf.length === 0 ? "is empty" : `is cut short: ${buf.length} bytes, not even a header length`,
    );
  const n = buf.readBigUInt64LE(0);
  if (n < 2n || n > BigInt(buf.length - 8))
    throw new SafetensorsError(
      `is not a safetensors file or is cut short: its header length says ${n} bytes, the file has ${buf.length - 8} after it`,
    );
  const start = 8 + Number(n);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(buf.subarray(8, start)));
  } catch {
    throw new SafetensorsError("is damaged: its header is not valid JSON");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header))
    throw new SafetensorsError("is damaged: its header is not a JSON object");
  const dataLength = buf.length - start;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, RawTensor>();
  const spans: { name: string; a: number; b: number }[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof entry !== "object" || entry === null || Array.isArray(entry))
        throw new SafetensorsError("is damaged: its __metadata__ is not an object");
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== "string")
          throw new SafetensorsError(`is damaged: metadata ${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    const dtype = e?.dtype;
    if (typeof dtype !== "string" || !(dtype in dtypeBytes))
      throw new SafetensorsError(
        `holds ${name} as ${JSON.stringify(dtype)}, a dtype archc does not read (${Object.keys(dtypeBytes).join(", ")})`,
      );
    const shape = e!.shape;
    const offsets = e!.data_offsets;
    if (!Array.isArray(shape) || !shape.every(isCount))
      throw new SafetensorsError(`is damaged: ${name} has no valid shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount))
      throw new SafetensorsError(`is damaged: ${name} has no valid data_offsets`);
    const [a, b] = offsets as [number, number];
    const want = size(shape as number[]) * dtypeBytes[dtype as Dtype];
    if (b < a || b - a !== want)
      throw new SafetensorsError(
        `is damaged: ${name} has shape [${(shape as number[]).join(", ")}] (${want} bytes) but its offsets span ${b - a}`,
      );
    if (b > dataLength)
      throw new SafetensorsError(
        `is cut short: ${name} ends at byte ${b} of the data, which has ${dataLength}`,
      );
    spans.push({ name, a, b });
    tensors.set(name, {
      dtype: dtype as Dtype,
      shape: shape as number[],
      bytes: buf.subarray(start + a, start + b),
    });
  }
  spans.sort((x, y) => x.a - y.a || x.b - y.b);
  let end = 0;
  for (const s of spans) {
    if (s.a !== end)
      throw new SafetensorsError(
        `is damaged: ${s.name} starts at byte ${s.a} of the data where ${end} was expected (tensors overlap or leave a gap)`,
      );
    end = s.b;
  }
  if (end !== dataLength)
    throw new SafetensorsError(
      `is damaged: its tensors end at byte ${end} of the data, the file has ${dataLength}`,
    );
  const recorded = metadata[digestKey];
  if (recorded === undefined && o.requireDigest)
    throw new SafetensorsError(`has no ${digestKey} checksum, so it cannot be verified`);
  if (recorded !== undefined && recorded !== safetensorsDigest(metadata, tensors))
    throw new SafetensorsError(
      "is damaged: its contents do not match the checksum written with it",
    );
  return { metadata, tensors };
}

/** A float32 tensor's values (copied: the file's bytes need not be 4-byte aligned). */
export function float32Of(t: RawTensor): Float32Array {
  const out = new Float32Array(t.bytes.length / 4);
  new Uint8Array(out.buffer).set(t.bytes);
  return out;
}

/** A float32 tensor as safetensors bytes. */
export function rawFloat32(shape: readonly number[], data: Float32Array): RawTensor {
  return {
    dtype: "F32",
    shape,
    bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}
