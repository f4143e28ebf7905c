import type { Entry, Expr } from "../../../grammar/ast.js";
import { fail } from "../../../grammar/diagnostic.js";
import type { Span } from "../../../grammar/span.js";
import { evaluate } from "../elaborate/evaluate.js";
import { Scope } from "../elaborate/scope.js";
import { show } from "../elaborate/values.js";
import { didYouMean } from "../suggest.js";

/**
 * The paper's (Inception-style) training preprocessing: a random crop of `scale` of the image's
 * area with aspect ratio in `ratio` (torchvision's RandomResizedCrop, 10 attempts, then a centre
 * crop), stretched to the network's input, and a horizontal flip with probability 0.5.
 */
export interface Augment {
  readonly kind: "inception";
  readonly scale: readonly [number, number];
  readonly ratio: readonly [number, number];
  readonly flip: boolean;
}

/** torchvision's RandomResizedCrop defaults. */
export const inceptionDefaults: Augment = {
  kind: "inception",
  scale: [0.08, 1],
  ratio: [3 / 4, 4 / 3],
  flip: true,
};

const augmentHelp = "augment none, or inception(scale = 0.08..1, ratio = 3/4..4/3, flip = true)";
const argNames = ["scale", "ratio", "flip"];

/**
 * `augment none`, `augment inception`, or `augment inception(scale = 0.08..1, ...)`: the
 * arguments' ranges are read from the expressions (`lo..hi` of numbers), not evaluated, since
 * an evaluated range is a list of integers.
 */
export function augmentEntry(entry: Entry): Augment | undefined {
  if (entry.args.length !== 1 || entry.args[0]!.name)
    fail("E0302", entry.span, `'augment' takes one value: ${augmentHelp}`);
  const e = entry.args[0]!.value;
  const name = e.kind === "Name" ? e.name : e.kind === "Call" ? e.callee.name : "";
  if (name === "none" && e.kind === "Name") return undefined;
  if (name !== "inception")
    fail(
      "E0305",
      e.span,
      `unknown augmentation '${name || "?"}'`,
      didYouMean(name, ["inception", "none"]) ?? augmentHelp,
    );
  if (e.kind !== "Call") return inceptionDefaults;
  let { scale, ratio, flip } = inceptionDefaults;
  const seen = new Set<string>();
  for (const a of e.args) {
    if (!a.name)
      fail("E0303", a.span, `inception takes named arguments, e.g. inception(scale = 0.08..1)`);
    const k = a.name.name;
    if (!argNames.includes(k))
      fail(
        "E0300",
        a.name.span,
        `inception has no argument '${k}'`,
        didYouMean(k, argNames) ?? `arguments: ${argNames.join(", ")}`,
      );
    if (seen.has(k)) fail("E0304", a.name.span, `'${k}' is set twice`);
    seen.add(k);
    if (k === "flip") {
      const v = evaluate(a.value, new Scope());
      if (v.t !== "bool")
        fail("E0303", a.value.span, `inception: flip must be true or false, not ${show(v)}`);
      flip = v.v;
    } else if (k === "scale") {
      scale = range(a.value, "scale", "0.08..1");
      if (!(scale[0] > 0 && scale[1] <= 1))
        fail(
          "E0303",
          a.value.span,
          `inception: scale is a fraction of the image's area, so it must lie in (0, 1], not ${scale[0]}..${scale[1]}`,
          "e.g. scale = 0.08..1",
        );
    } else {
      ratio = range(a.value, "ratio", "3/4..4/3");
      if (!(ratio[0] > 0))
        fail(
          "E0303",
          a.value.span,
          `inception: ratio is a width-to-height ratio, so it must be positive, not ${ratio[0]}..${ratio[1]}`,
          "e.g. ratio = 3/4..4/3",
        );
    }
  }
  return { kind: "inception", scale, ratio, flip };
}

/** `lo..hi` of numbers (a single number n means n..n), lo <= hi. */
function range(e: Expr, name: string, example: string): [number, number] {
  const num = (x: Expr): number => {
    const v = evaluate(x, new Scope());
    if ((v.t !== "int" && v.t !== "float") || !Number.isFinite(v.v))
      fail(
        "E0303",
        x.span,
        `inception: ${name}'s bounds must be numbers, not ${show(v)}`,
        `e.g. ${name} = ${example}`,
      );
    return v.v;
  };
  if (e.kind !== "Range") {
    const n = num(e);
    return [n, n];
  }
  if (e.step)
    fail(
      "E0303",
      e.step.span,
      `inception: ${name} is an interval and takes no step`,
      `e.g. ${name} = ${example}`,
    );
  const lo = num(e.start);
  const hi = num(e.end);
  if (hi < lo)
    fail(
      "E0303",
      e.span as Span,
      `inception: ${name} ${lo}..${hi} is empty: its end is below its start`,
      `write it low..high, e.g. ${name} = ${hi}..${lo}`,
    );
  return [lo, hi];
}

/** `eval_crop F`: evaluation resizes the centre F of the image (by side) to the input. */
export function evalCropValue(fraction: number, span: Span): number {
  if (!(Number.isFinite(fraction) && fraction > 0 && fraction <= 1))
    fail(
      "E0303",
      span,
      `'eval_crop' is the fraction of the image's side kept around its centre, in (0, 1], not ${fraction}`,
      "e.g. eval_crop 0.875 (Inception's 299 of 342)",
    );
  return fraction;
}
