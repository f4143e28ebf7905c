import { fail } from "../../../grammar/diagnostic.js";
import type { Span } from "../../../grammar/span.js";
import { isActivation, isIdentity } from "../ir/activations.js";
import { didYouMean } from "../suggest.js";
import { layerNameProblem, type Namer } from "./namer.js";
import type { BoundAttr, Lowered, OpSpec, Snapped } from "./ops/spec.js";
import { show, type Value } from "./values.js";

/**
 * The steps of one layer statement after its arguments are bound, in the elaborator's order:
 * whether it makes a layer at all, its name, and its lowering. The elaborator and generated
 * TypeScript's runtime (backends/ts/runtime/builder.ts) both run them, so a layer gets the same
 * name, node and diagnostics from a spec as from generated code.
 */

/** `input` anywhere but first (E0405). */
export function inputNotFirst(span: Span): never {
  fail(
    "E0405",
    span,
    "input can only come first in a network",
    "remove this input or move it to the top",
  );
}

/** Identity activations (`act(mid)` with mid = none, `linear`) are spelled out but no layer. */
export function makesNoLayer(word: string, attrs: ReadonlyMap<string, BoundAttr>): boolean {
  return (word === "act" && isIdentityWord(attrs.get("fn")?.value)) || word === "linear";
}

function isIdentityWord(v: Value | undefined): boolean {
  return v?.t === "symbol" && isActivation(v.v) && isIdentity(v.v);
}

/**
 * The layer's full name: the one chosen with `name = "..."` (E0305 when it is no name, E0204
 * when its scope has it already), else the next free one of its word (`conv`, `conv_1`, ...).
 */
export function nameLayer(
  namer: Namer,
  word: string,
  attrs: ReadonlyMap<string, BoundAttr>,
): string {
  const chosen = attrs.get("name");
  if (chosen?.value.t !== "string") return namer.fresh(word);
  const bad = layerNameProblem(chosen.value.v);
  if (bad) fail("E0305", chosen.span, bad.message, bad.hint);
  const claimed = namer.claim(chosen.value.v);
  if (!claimed) fail("E0204", chosen.span, `layer name "${chosen.value.v}" is used twice`);
  return claimed;
}

/** The layer's node, from its input's shape; diagnostics name it `word 'name'`. */
export function lowerLayer(
  op: OpSpec,
  o: {
    readonly name: string;
    readonly input: readonly number[];
    readonly attrs: ReadonlyMap<string, BoundAttr>;
    readonly span: Span;
    readonly snap?: (s: Snapped) => void;
  },
): Lowered {
  return op.lower({
    input: o.input,
    attrs: o.attrs,
    span: o.span,
    name: `${op.name} '${o.name}'`,
    ...(o.snap ? { snap: o.snap } : {}),
  });
}

/** A network without layers (E0405). */
export function noLayers(network: string): { message: string; hint: string } {
  return {
    message: `network ${network} has no layers`,
    hint: "start it with e.g. input 224x224x3",
  };
}

/** A `repeat` count that is no count (E0502). */
export function badRepeatCount(shown: string): string {
  return `repeat needs a count of 0 or more, not ${shown}`;
}

/**
 * What is wrong with a `repeat` count (E0502), or undefined for a count of 0 or more; `raw` is the
 * count as written when it is a literal.
 */
export function repeatCountProblem(
  count: Value,
  raw?: string,
): { message: string; hint?: string } | undefined {
  if (count.t === "float" && Number.isInteger(count.v) && count.v >= 0) {
    return {
      message: `repeat needs an integer count, and ${raw ?? show(count)} is a float`,
      hint:
        count.v <= Number.MAX_SAFE_INTEGER
          ? `write it in digits: repeat ${count.v}`
          : "a count this large is no network",
    };
  }
  if (count.t !== "int" || count.v < 0) return { message: badRepeatCount(show(count)) };
  return undefined;
}

/** An argument a network does not take (E0601); the hint names what is close or what there is. */
export function noNetworkParameter(
  network: string,
  param: string,
  params: readonly string[],
): { message: string; hint: string } {
  return {
    message: `network ${network} has no parameter '${param}'`,
    hint: didYouMean(param, params) ?? `its parameters: ${params.join(", ") || "none"}`,
  };
}
