/**
 * An IDX file of unsigned bytes (MNIST's format: magic 00 00 08 RANK, big-endian dims, then the
 * elements), the data the IDX source tests write by hand; gzip it for a `.gz` one.
 */
export function idxBytes(dims: readonly number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt8(0x08, 2);
  head.writeUInt8(dims.length, 3);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, data]);
}
