import { fail } from "../../../../grammar/diagnostic.js";
import { show } from "../values.js";
import type { Attrs } from "./attrs.js";
import type { Snapped } from "./spec.js";

/** `conv 'entry/conv'` -> `entry/conv`: diagnostics name layers with their op, records do not. */
function layerName(described: string): string {
  const m = /'([^']+)'/.exec(described);
  return m ? m[1]! : described;
}

export function divisors(n: number): number[] {
  const out: number[] = [];
  for (let d = 1; d * d <= n; d++) {
    if (n % d === 0) {
      out.push(d);
      if (d * d !== n) out.push(n / d);
    }
  }
  return out.sort((a, b) => a - b);
}

export function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** The valid partition counts nearest to `wanted` among the divisors of `n`, below and above. */
export function nearestDivisors(n: number, wanted: number): number[] {
  const ds = divisors(n);
  const below = ds.filter((d) => d < wanted).pop();
  const above = ds.find((d) => d > wanted);
  return [below, above].filter((d): d is number => d !== undefined);
}

/**
 * Resolves `parts` / `width` against the channels the partitioned step sees. `channels` is what
 * is split; every count in `mustDivide` must split evenly too (a conv's filters, say).
 */
export function resolveParts(
  layer: string,
  attrs: Attrs,
  channels: number,
  mustDivide: readonly { what: string; count: number }[],
  fallback: number,
  snap?: (s: Snapped) => void,
): number {
  const partsV = attrs.value("parts");
  const widthV = attrs.value("width");
  if (partsV && widthV) {
    fail("E0305", attrs.span("width"), `${layer}: give either parts or width, not both`);
  }
  let parts = fallback;
  if (widthV) {
    const width = attrs.int("width", 1, 1);
    if (channels % width !== 0) {
      const near = nearestDivisors(channels, width);
      fail(
        "E0400",
        attrs.span("width"),
        `${layer}: ${channels} input channels cannot be cut into segments of width ${width}`,
        `nearest valid widths: ${near.join(" and ")}`,
      );
    }
    parts = channels / width;
  } else if (partsV) {
    if (partsV.t === "symbol" && partsV.v === "depthwise") parts = channels;
    else if (partsV.t === "symbol" && partsV.v === "regular") parts = 1;
    else if (partsV.t === "int") {
      if (partsV.v < 1) {
        fail("E0305", attrs.span("parts"), `${layer}: parts must be at least 1, not ${partsV.v}`);
      }
      parts = partsV.v;
    } else {
      fail(
        "E0303",
        attrs.span("parts"),
        `${layer}: parts must be a count, regular or depthwise, not ${show(partsV)}`,
      );
    }
  }
  const all = [{ what: "input channels", count: channels }, ...mustDivide];
  const bad = all.find((c) => c.count % parts !== 0);
  if (bad) {
    const common = all.reduce((g, c) => gcd(g, c.count), 0);
    const near = nearestDivisors(common, parts);
    if (snap) {
      // The nearest valid count; between two equally near, the smaller (closer to regular).
      const chosen = near.reduce(
        (best, d) => (Math.abs(d - parts) < Math.abs(best - parts) ? d : best),
        near[0] ?? 1,
      );
      snap({ layer: layerName(layer), requested: parts, chosen });
      return chosen;
    }
    const counts = all.map((c) => `${c.count} ${c.what}`).join(" and ");
    if (widthV) {
      const widths = near.map((d) => channels / d).sort((a, b) => a - b);
      fail(
        "E0400",
        attrs.span("width"),
        `${layer}: segments of width ${channels / parts} (${parts} parts) do not divide the ${bad.count} ${bad.what}`,
        `with ${counts}, the nearest valid widths are ${widths.join(" and ")}`,
      );
    }
    fail(
      "E0400",
      attrs.has("parts") ? attrs.span("parts") : attrs.span("width"),
      `${layer}: ${bad.count} ${bad.what} are not divisible by parts = ${parts}`,
      `with ${counts}, the nearest valid values are ${near.join(" and ")}`,
    );
  }
  return parts;
}
