/** The divisors of a positive integer, ascending: the valid partition counts of `n` channels. */
export function divisors(n: number): number[] {
  const low: number[] = [];
  const high: number[] = [];
  for (let d = 1; d * d <= n; d++) {
    if (n % d === 0) {
      low.push(d);
      if (d * d !== n) high.unshift(n / d);
    }
  }
  return [...low, ...high];
}
