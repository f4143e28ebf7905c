/** A point to place on a front: what it costs and what it scores (higher is better). */
export interface Scored {
  readonly cost: number;
  readonly score: number;
}

/**
 * The Pareto front of cost (lower is better) against score (higher is better): the points no
 * other point beats on both, i.e. none has cost <= and score >= with one of them strict. Points
 * equal on both are all kept. In order of rising cost.
 */
export function paretoFront<T extends Scored>(points: readonly T[]): T[] {
  const sorted = [...points].sort((a, b) => a.cost - b.cost || b.score - a.score);
  const front: T[] = [];
  let best = -Infinity;
  let last: T | undefined;
  for (const p of sorted) {
    const tie = last !== undefined && p.cost === last.cost && p.score === last.score;
    if (p.score > best || tie) {
      front.push(p);
      best = Math.max(best, p.score);
      last = p;
    }
  }
  return front;
}
