/**
 * A small seeded PRNG (splitmix32) whose whole state is one number, so a checkpoint can save it
 * and a resumed run draws exactly the numbers the uninterrupted one would have.
 */
export class Random {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** A uniform 32-bit unsigned integer. */
  int(): number {
    this.s = (this.s + 0x9e3779b9) >>> 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.int() / 4294967296;
  }

  /** Fisher-Yates, in place. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int() % (i + 1);
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  }

  getState(): number[] {
    return [this.s];
  }

  setState(state: readonly number[]): void {
    this.s = (state[0] ?? 0) >>> 0;
  }
}

/** The order of one epoch: a function of the seed and the epoch alone. */
export function epochOrder(size: number, seed: number, epoch: number, shuffle: boolean): number[] {
  const order = Array.from({ length: size }, (_, i) => i);
  return shuffle ? new Random((seed * 1_000_003 + epoch * 7919 + 1) >>> 0).shuffle(order) : order;
}
