import { DataError } from "./dataset.js";
import { deriveSeed, epochOrder } from "./random.js";

/** The random stream the validation split draws from, apart from the training order's. */
const valStream = 0x76616c;

/** Keras' validation_split's usual value: a tenth of the training examples validate. */
export const defaultValSplit = 0.1;

/** The fraction given to --val-split: in [0, 1); 0 trains on everything, without validation. */
export function checkValSplit(fraction: number): void {
  if (!(Number.isFinite(fraction) && fraction >= 0 && fraction < 1))
    throw new DataError(
      `--val-split must be a fraction in [0, 1) of the training examples to hold out for validation (e.g. 0.1; 0: none), not ${fraction}`,
    );
}

/**
 * Splits examples 0..n-1 into those kept for training and those held out to validate: a seeded
 * draw of round(n * fraction), the same in both engines and on every machine, each part in file
 * order (so --limit takes the first examples of each).
 */
export function holdOut(
  n: number,
  fraction: number,
  seed: number,
): { kept: number[]; held: number[] } {
  checkValSplit(fraction);
  const count = Math.round(n * fraction);
  const order = epochOrder(n, deriveSeed(seed, valStream), 0, true);
  const held = order.slice(0, count).sort((a, b) => a - b);
  const isHeld = new Uint8Array(n);
  for (const i of held) isHeld[i] = 1;
  const kept: number[] = [];
  for (let i = 0; i < n; i++) if (!isHeld[i]) kept.push(i);
  return { kept, held };
}
