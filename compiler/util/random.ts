/**
 * Seeded uniform numbers in [0, 1) (mulberry32): small, fast, and the same everywhere, so a
 * seed gives the same model (the ONNX backend's random weights) and a failing test reproduces.
 */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
