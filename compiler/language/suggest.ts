/** "did you mean" candidates: names within a small edit distance, closest first. */
export function suggest(name: string, candidates: Iterable<string>, max = 3): string[] {
  // One edit for short names; two from four letters on, so a swapped pair (unti/unit) is found.
  const limit = name.length <= 3 ? 1 : Math.max(2, Math.floor(name.length / 3));
  return [...new Set(candidates)]
    .map((c) => ({ c, d: distance(name.toLowerCase(), c.toLowerCase()) }))
    .filter(({ d }) => d <= limit)
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c))
    .slice(0, max)
    .map(({ c }) => c);
}

export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const s = suggest(name, candidates);
  return s.length ? `did you mean ${s.map((x) => `'${x}'`).join(" or ")}?` : undefined;
}

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/**
 * Argument names of PyTorch and Keras layers, by the name archc gives the same thing: a user
 * bringing `groups=4` from a torchvision model is looking for `parts`, which no edit distance finds.
 */
const foreignNames: Readonly<Record<string, readonly string[]>> = {
  parts: ["groups"],
  epsilon: ["eps"],
  kernel: ["kernel_size"],
  filters: ["out_channels"],
  units: ["out_features"],
  stride: ["strides"],
  dilation: ["dilation_rate"],
  bias: ["use_bias"],
  pool: ["pool_size"],
  ceil: ["ceil_mode"],
  multiplier: ["depth_multiplier"],
};

/**
 * The hint for an unknown argument name: its archc spelling where it is another framework's name
 * for one of `known`, else the near misses.
 */
export function argumentHint(name: string, known: readonly string[]): string | undefined {
  const ours = known.find((k) => foreignNames[k]?.includes(name.toLowerCase()));
  if (ours) return `did you mean '${ours}'? ('${name}' in PyTorch or Keras is '${ours}' in archc)`;
  return didYouMean(name, known);
}
