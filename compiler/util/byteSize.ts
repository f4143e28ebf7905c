const units: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/**
 * A size flag given as text (`256MB`, `1GiB`, `65536`): the bytes, or the message saying what is
 * wrong. Decimal units are powers of 1000 and binary ones of 1024, as storage vendors write them.
 */
export function byteSizeFlag(name: string, text: string, min: number): number | { error: string } {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?$/i.exec(text.trim());
  const n = m ? Math.round(Number(m[1]) * units[(m[2] ?? "").toLowerCase()]!) : NaN;
  if (Number.isSafeInteger(n) && n >= min) return n;
  return {
    error: `--${name} must be a size of at least ${min} bytes (e.g. 256MB, 1GiB or a byte count), not '${text}'`,
  };
}
