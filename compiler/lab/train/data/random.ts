/**
 * Seeded randomness for training. Everything random in a run (epoch order, dropout masks,
 * synthetic data) comes from here, so a run is a function of its seed, and a resumed run draws
 * exactly the numbers the uninterrupted one would have: the whole state is one 32-bit number,
 * which a checkpoint saves with `getState()` and restores with `setState()`.
 */

const TWO32 = 4294967296;

/** The splitmix32 finaliser: a bijection on 32-bit values that spreads every input bit. */
export function mix32(x: number): number {
  let z = x >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A seed as a 32-bit state. Whole numbers in [-2^31, 2^32) map as `>>> 0` does; larger ones fold
 * in their high bits too, so seeds that differ only there still differ.
 */
function toUint32(seed: number): number {
  if (!Number.isSafeInteger(seed))
    throw new RangeError(`a seed must be a whole number, not ${seed}`);
  if (seed >= -0x80000000 && seed < TWO32) return seed >>> 0;
  const hi = Math.floor(seed / TWO32);
  return ((seed - hi * TWO32) ^ mix32(hi >>> 0)) >>> 0;
}

/**
 * One seed from several numbers (seed, epoch, example index, ...), each step mixed so that
 * (1, 2) and (2, 1), or neighbouring epochs, give unrelated streams.
 */
export function deriveSeed(...parts: number[]): number {
  let h = 0x243f6a88;
  for (const p of parts) h = mix32((h ^ toUint32(p)) + 0x9e3779b9);
  return h;
}

/** splitmix32: a Weyl sequence through the finaliser. Small, fast, and passes the usual tests. */
export class Random {
  private s: number;

  constructor(seed: number) {
    this.s = toUint32(seed);
  }

  /** A uniform 32-bit unsigned integer. */
  int(): number {
    this.s = (this.s + 0x9e3779b9) >>> 0;
    return mix32(this.s);
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.int() / TWO32;
  }

  /** Uniform whole number in [0, n); the modulo bias is below 2^-20 for n up to 4096. */
  below(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Fisher-Yates, in place. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  }

  /** The whole state, as plain numbers a checkpoint can write as JSON. */
  getState(): number[] {
    return [this.s];
  }

  /** Restores a state from `getState()`; anything else is refused rather than silently reseeded. */
  setState(state: readonly number[]): void {
    const s = state[0];
    if (state.length !== 1 || s === undefined || !Number.isInteger(s) || s < 0 || s >= TWO32)
      throw new RangeError(
        `not a Random state: ${JSON.stringify(state)} (expected one whole number in [0, 2^32))`,
      );
    this.s = s;
  }
}

/**
 * The order of one epoch, a function of (seed, epoch) alone: a resumed run can start at any
 * epoch and see the same order as an uninterrupted one, without replaying earlier epochs.
 */
export function epochOrder(size: number, seed: number, epoch: number, shuffle: boolean): number[] {
  const order = Array.from({ length: size }, (_, i) => i);
  return shuffle ? new Random(deriveSeed(seed, epoch)).shuffle(order) : order;
}
