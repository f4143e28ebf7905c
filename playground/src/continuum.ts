import type { NetworkDecl } from "../../grammar/ast.js";
import { syntheticSpan } from "../../grammar/span.js";
import { evaluate } from "../../compiler/language/elaborate/evaluate.js";
import { Scope } from "../../compiler/language/elaborate/scope.js";
import { activations, type Value } from "../../compiler/language/elaborate/values.js";
import { buildNetwork, parseSets, type Program } from "../../compiler/language/program.js";
import { boundArg } from "../../compiler/language/variant.js";
import { allParts } from "../../compiler/lab/sweep/axes.js";

/** One point of the continuum chart: a value of the axis and the network's figures there. */
export interface Point {
  readonly label: string;
  readonly value: Value;
  readonly params: number;
  readonly macs: number;
  latencyMs?: number;
}

export function valueLabel(v: Value): string {
  return v.t === "symbol" || v.t === "int" || v.t === "bool" || v.t === "float"
    ? String(v.v)
    : JSON.stringify(v);
}

function defaultOf(net: NetworkDecl, axis: string): Value | undefined {
  const p = net.params.find((x) => x.name.name === axis);
  if (!p?.default) return undefined;
  try {
    return evaluate(p.default, new Scope());
  } catch {
    return undefined;
  }
}

/**
 * Every valid value of a network argument, as `archc sweep --sweep NAME=all` finds them for a
 * partition argument (every divisor that builds, then depthwise); true and false for a flag;
 * every activation that builds for an activation argument.
 */
export function axisValues(
  program: Program,
  net: NetworkDecl,
  axis: string,
  set: readonly string[],
): Value[] {
  const base = parseSets(set).args.filter((a) => a.name !== axis);
  const d = defaultOf(net, axis);
  const builds = (v: Value) =>
    buildNetwork(program, net, [
      ...base,
      boundArg(axis, v, syntheticSpan(`${axis}=${valueLabel(v)}`)),
    ]).ok;
  if (d?.t === "bool") return [true, false].map((v): Value => ({ t: "bool", v })).filter(builds);
  if (d?.t === "symbol" && (activations as readonly string[]).includes(d.v))
    return activations.map((v): Value => ({ t: "symbol", v })).filter(builds);
  return allParts(program, net, axis, base);
}

/**
 * The arguments a chart can sweep: flags, symbols (activations, parts = depthwise) and integer
 * partition arguments (parts, groups, width). Cheap: the values are found for the one picked.
 */
export function chartableAxes(net: NetworkDecl): string[] {
  return net.params
    .map((p) => p.name.name)
    .filter((name) => {
      const d = defaultOf(net, name);
      return (
        d?.t === "bool" ||
        d?.t === "symbol" ||
        (d?.t === "int" && /^(parts|groups|width)$/.test(name))
      );
    });
}

/** Params and MACs at every valid value of the axis, the other arguments as set. */
export function continuum(
  program: Program,
  net: NetworkDecl,
  axis: string,
  set: readonly string[],
): Point[] {
  const base = parseSets(set).args.filter((a) => a.name !== axis);
  const points: Point[] = [];
  for (const value of axisValues(program, net, axis, set)) {
    const label = valueLabel(value);
    const r = buildNetwork(program, net, [
      ...base,
      boundArg(axis, value, syntheticSpan(`${axis}=${label}`)),
    ]);
    if (r.ok)
      points.push({ label, value, params: r.graph.totals.params.total, macs: r.graph.totals.macs });
  }
  return points;
}
