/**
 * The value of an integer flag given as text: the number, or the message saying what is wrong.
 * One rule for every command (run, train, sweep, the torch engine's flags) so they agree.
 */
export function integerFlag(name: string, text: string, min: number): number | { error: string } {
  // Number() would accept "", "0x2" and "1e0"; a count is written in plain digits.
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (Number.isSafeInteger(n) && n >= min) return n;
  const want = min === 1 ? "a positive integer" : `an integer of at least ${min}`;
  return { error: `--${name} must be ${want}, not '${text}'` };
}
