/** What an experiment can measure of each configuration. */
export const measures = ["params", "macs", "latency", "train"] as const;
export type Measure = (typeof measures)[number];

/** `params,macs,train` -> the measures, or the word that is not one. */
export function parseMeasures(text: string): readonly Measure[] | { unknown: string } {
  const wanted = text.split(",").map((m) => m.trim());
  const bad = wanted.find((m) => !(measures as readonly string[]).includes(m));
  return bad === undefined ? (wanted as Measure[]) : { unknown: bad };
}
