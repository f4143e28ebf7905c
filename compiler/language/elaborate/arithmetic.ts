/**
 * The language's integer division and remainder, as Python has them: `//` rounds toward negative
 * infinity and `%` takes the divisor's sign (`-7 % 3` is 2, where JavaScript's `%` gives -1). The
 * evaluator and the runtime of generated TypeScript both call these, so a spec and the module
 * generated from it compute the same channel counts.
 */
export function floorDiv(a: number, b: number): number {
  return Math.floor(a / b);
}

export function floorMod(a: number, b: number): number {
  return a - b * Math.floor(a / b);
}

/** E0501's text, where `//` or `%` meets a zero divisor. */
export const divisionByZero = "division by zero";
