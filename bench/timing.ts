import { loadavg } from "node:os";

/** The middle of a bench's timings (the mean of the two middle ones for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The q-quantile (0 <= q <= 1) by linear interpolation between the sorted values (numpy's
 * default), so the quartiles of a handful of steps still say something.
 */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const at = q * (s.length - 1);
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return s[lo]! + (s[hi]! - s[lo]!) * (at - lo);
}

/** What a row reports of its timings: the median, and the spread a reader judges it by. */
export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** First and third quartiles. */
  readonly q1: number;
  readonly q3: number;
}

export function summarize(xs: readonly number[]): Summary {
  return {
    n: xs.length,
    median: median(xs),
    min: Math.min(...xs),
    max: Math.max(...xs),
    q1: quantile(xs, 0.25),
    q3: quantile(xs, 0.75),
  };
}

/**
 * A figure in a table: "412 (398-440)", the median and the range of the timed steps; with
 * milliseconds above 10 s printed in seconds ("21.3 s (20.9-22.0)") since Xception's steps are.
 */
export function formatSummary(s: Summary | undefined, range = true): string {
  if (!s || s.n === 0) return "-";
  const seconds = s.median >= 10_000;
  const f = (ms: number) =>
    seconds ? (ms / 1000).toFixed(1) : ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
  const spread = range && s.n > 1 ? ` (${f(s.min)}-${f(s.max)})` : "";
  return `${f(s.median)}${seconds ? " s" : ""}${spread}`;
}

/** The one-minute load average, rounded as the tables print it. */
export function loadAverage(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}

/** Wall-clock and CPU milliseconds of one timed call (CPU: every thread of this process). */
export interface Timed {
  readonly ms: number;
  readonly cpuMs: number;
}

export async function timed(f: () => Promise<void>): Promise<Timed> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { ms, cpuMs: (c.user + c.system) / 1000 };
}
