/**
 * Bounds on what one spec may ask of the compiler, so that no input can hang it, exhaust its
 * memory or overflow its stack. Each is far beyond any real network: the largest spec in the
 * library is under 3 KB, nests 6 levels and elaborates to about 300 layers.
 */
export const limits = {
  /** Bytes in one spec file: lexing and parsing take up to 4 s per MB; this keeps them to 0.5 s. */
  specBytes: 128 * 1024,
  /** Brackets, bodies, `else if` and `? :` open at once. */
  nesting: 100,
  /** Infix operators in one expression (`1 + 1 + ...`). */
  operators: 1000,
  /** Prefix operators on one operand (`- - - x`, `not not x`). */
  prefixes: 32,
  /** Values one range (`1..64`) may give: a sweep axis, not a loop. */
  rangeValues: 10_000,
  /** Layers one network elaborates to; `--max-layers` changes it. */
  layers: 100_000,
} as const;

/** Bytes as people read them: 524288 -> "512 KiB". */
export function showBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Math.round((n / (1024 * 1024)) * 10) / 10} MiB`;
  if (n >= 1024) return `${Math.round((n / 1024) * 10) / 10} KiB`;
  return `${n} bytes`;
}
