import { fail } from "../../../../grammar/diagnostic.js";
import { show } from "../values.js";
import { divisors } from "../../../util/divisors.js";
import type { Attrs } from "./attrs.js";
import type { Snapped } from "./spec.js";

/** `conv 'entry/conv'` -> `entry/conv`: diagnostics name layers with their op, records do not. */
function layerName(described: string): string {
  const m = /'([^']+)'/.exec(described);
  return m ? m[1]! : described;
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

/** A partition as asked for: a count, `depthwise`, `regular`, or a segment width. */
export interface PartitionRequest {
  readonly parts?: number | "depthwise" | "regular";
  readonly width?: number;
}

/** A partition count, or why there is none: the diagnostic's code, attribute, text and hint. */
export type PartitionResult =
  | { readonly ok: true; readonly parts: number }
  | {
      readonly ok: false;
      readonly code: "E0305" | "E0400";
      /** The attribute the problem is about; diagnostics point at its value. */
      readonly attr: "parts" | "width";
      readonly message: string;
      readonly hint?: string;
      /** For a count that does not divide: the nearest valid counts, below and above. */
      readonly near?: readonly number[];
    };

/**
 * The one owner of the partition rules and their messages: the elaborator reports a failure as a
 * diagnostic, and generated TypeScript (through `archc/layers`) throws it at build time, with the
 * same text. `channels` is what is split; every count in `mustDivide` must split evenly too.
 */
export function partition(
  layer: string,
  channels: number,
  mustDivide: readonly { what: string; count: number }[],
  request: PartitionRequest,
  fallback: number,
): PartitionResult {
  const { parts: asked, width } = request;
  if (asked !== undefined && width !== undefined) {
    return {
      ok: false,
      code: "E0305",
      attr: "width",
      message: `${layer}: give either parts or width, not both`,
    };
  }
  let parts = fallback;
  if (width !== undefined) {
    if (width < 1) {
      return {
        ok: false,
        code: "E0305",
        attr: "width",
        message: `${layer}: width must be at least 1, not ${width}`,
      };
    }
    if (channels % width !== 0) {
      return {
        ok: false,
        code: "E0400",
        attr: "width",
        message: `${layer}: ${channels} input channels cannot be cut into segments of width ${width}`,
        hint: `nearest valid widths: ${nearestDivisors(channels, width).join(" and ")}`,
      };
    }
    parts = channels / width;
  } else if (asked === "depthwise") parts = channels;
  else if (asked === "regular") parts = 1;
  else if (asked !== undefined) {
    if (asked < 1) {
      return {
        ok: false,
        code: "E0305",
        attr: "parts",
        message: `${layer}: parts must be at least 1, not ${asked}`,
      };
    }
    parts = asked;
  }
  const all = [{ what: "input channels", count: channels }, ...mustDivide];
  const bad = all.find((c) => c.count % parts !== 0);
  if (!bad) return { ok: true, parts };
  const common = all.reduce((g, c) => gcd(g, c.count), 0);
  const near = nearestDivisors(common, parts);
  const counts = all.map((c) => `${c.count} ${c.what}`).join(" and ");
  if (width !== undefined) {
    const widths = near.map((d) => channels / d).sort((a, b) => a - b);
    return {
      ok: false,
      code: "E0400",
      attr: "width",
      message: `${layer}: segments of width ${channels / parts} (${parts} parts) do not divide the ${bad.count} ${bad.what}`,
      hint: `with ${counts}, the nearest valid widths are ${widths.join(" and ")}`,
      near,
    };
  }
  return {
    ok: false,
    code: "E0400",
    attr: "parts",
    message: `${layer}: ${bad.count} ${bad.what} are not divisible by parts = ${parts}`,
    hint: `with ${counts}, the nearest valid values are ${near.join(" and ")}`,
    near,
  };
}

/**
 * Resolves `parts` / `width` attributes against the channels the partitioned step sees; the
 * rules are `partition`'s.
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
  let request: PartitionRequest = {};
  if (partsV && widthV) request = { parts: 1, width: 1 };
  else if (widthV) request = { width: attrs.int("width", 1, 1) };
  else if (partsV) {
    if (partsV.t === "symbol" && (partsV.v === "depthwise" || partsV.v === "regular"))
      request = { parts: partsV.v };
    else if (partsV.t === "int") request = { parts: partsV.v };
    else {
      fail(
        "E0303",
        attrs.span("parts"),
        `${layer}: parts must be a count, regular or depthwise, not ${show(partsV)}`,
      );
    }
  }
  const r = partition(layer, channels, mustDivide, request, fallback);
  if (r.ok) return r.parts;
  if (r.near && snap) {
    const asked = request.parts;
    const parts =
      request.width !== undefined
        ? channels / request.width
        : asked === "depthwise"
          ? channels
          : asked === "regular"
            ? 1
            : (asked ?? fallback);
    // The nearest valid count; between two equally near, the smaller (closer to regular).
    const chosen = r.near.reduce(
      (best, d) => (Math.abs(d - parts) < Math.abs(best - parts) ? d : best),
      r.near[0] ?? 1,
    );
    snap({ layer: layerName(layer), requested: parts, chosen });
    return chosen;
  }
  const at = r.attr === "parts" && !attrs.has("parts") ? "width" : r.attr;
  fail(r.code, attrs.span(at), r.message, r.hint);
}
