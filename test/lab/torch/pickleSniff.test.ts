import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { encodeSafetensors } from "../../../compiler/backends/torch/safetensors.js";
import { readTorchCheckpoint } from "../../../compiler/lab/torch/checkpoint.js";

const dir = mkdtempSync(join(tmpdir(), "archc-sniff-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A safetensors file whose 8-byte header length starts with the given byte(s). */
function withHeaderLength(first: number[]): Uint8Array {
  const length = (b: Uint8Array) => Buffer.from(b).readUInt32LE(0);
  const base = length(encodeSafetensors(new Map(), { note: "" }));
  const target = first.reduce((n, b, i) => n + b * 256 ** i, 0) + 256 ** first.length;
  // The header grows with the note, give or take its alignment: search around the difference.
  for (let pad = Math.max(0, target - base - 16); pad < target - base + 16; pad++) {
    const bytes = encodeSafetensors(new Map(), { note: "x".repeat(pad) });
    if (first.every((b, i) => bytes[i] === b)) return bytes;
  }
  throw new Error(`no padding gives a header length starting ${first}`);
}

describe("a torch checkpoint is told from a pickle by more than its first byte", () => {
  it("safetensors whose header length starts with 0x80 or 'PK' is not called a pickle", () => {
    for (const first of [[0x80], [0x50, 0x4b]]) {
      const path = join(dir, `len-${first.join("-")}.bin`);
      writeFileSync(path, withHeaderLength(first));
      // Not this format's metadata, so it is refused, but for what it is, not as a pickle.
      expect(() => readTorchCheckpoint(path)).toThrow(/is not an archc torch checkpoint/);
    }
  });

  it("a pickle and a torch.save zip still are", () => {
    const pickle = join(dir, "pickle.bin");
    writeFileSync(pickle, Buffer.from([0x80, 0x04, 0x95, 0x10, 0, 0, 0, 0, 0, 0, 0x8c]));
    expect(() => readTorchCheckpoint(pickle)).toThrow(/is a pickle/);
    const zip = join(dir, "zip.bin");
    writeFileSync(zip, Buffer.from("PK\x03\x04\x00\x00\x08\x00\x08\x00archive/data.pkl", "latin1"));
    expect(() => readTorchCheckpoint(zip)).toThrow(/is a pickle/);
  });
});
