import type { NetworkDecl } from "../../../grammar/ast.js";
import { parseExpression } from "../../../grammar/parse.js";
import { syntheticSpan } from "../../../grammar/span.js";
import { error, DiagnosticError, type Diagnostic } from "../../../grammar/diagnostic.js";
import { sweepValues } from "../../language/config/sweepValues.js";
import { partitionedChannels } from "../../language/ir/geometry.js";
import type { Value } from "../../language/elaborate/values.js";
import { buildNetwork, type Program } from "../../language/program.js";
import { didYouMean } from "../../language/suggest.js";
import { divisors } from "../../util/divisors.js";
import { boundArg, makeVariant, type BoundArg, type Variant } from "../../language/variant.js";

/**
 * One axis of a sweep: a network parameter and the values it takes, as written. Tied axes
 * (`p1=p2=p3=1,4`) are one axis whose value every parameter of `tied` takes too.
 */
export interface Axis {
  readonly name: string;
  readonly values: readonly Value[];
  /** Further parameters that always take this axis's value (p2, p3 of `p1=p2=p3=...`). */
  readonly tied?: readonly string[];
}

/** Every parameter an axis sets: its name, then those tied to it. */
export const axisNames = (a: Axis): readonly string[] => [a.name, ...(a.tied ?? [])];

export type { Variant } from "../../language/variant.js";

/**
 * `parts=1,2,4,depthwise` -> an axis; `p1=p2=p3=1,4` -> one axis tied over three parameters;
 * `parts=all` is expanded later, against the network.
 */
export function parseAxis(text: string, net: NetworkDecl): Axis | Diagnostic {
  const span = syntheticSpan(`--sweep ${text}`);
  const m = /^\s*((?:[A-Za-z_][A-Za-z0-9_]*\s*=\s*)+)(.*)$/s.exec(text);
  if (!m)
    return error(
      "E0601",
      span,
      `--sweep takes name=v1,v2,..., not '${text}'`,
      "for example --sweep parts=1,2,4,depthwise, or p1=p2=1,4 for tied axes",
    );
  const names = m[1]!
    .split("=")
    .map((n) => n.trim())
    .filter((n) => n);
  for (const name of names) {
    if (!net.params.some((p) => p.name.name === name)) {
      return error(
        "E0601",
        span,
        `network ${net.name.name} has no parameter '${name}' to sweep`,
        didYouMean(
          name,
          net.params.map((p) => p.name.name),
        ) ?? `its parameters: ${net.params.map((p) => p.name.name).join(", ")}`,
      );
    }
  }
  const name = names[0]!;
  const tied = names.slice(1);
  if (new Set(names).size !== names.length)
    return error("E0601", span, `--sweep ${text} names a parameter twice`);
  const body = m[2]!.trim();
  const axis = (values: readonly Value[]): Axis => ({
    name,
    values,
    ...(tied.length ? { tied } : {}),
  });
  if (body === "all") return axis([{ t: "symbol", v: "all" }]);
  const parsed = parseExpression(`--sweep ${name}`, `[${body}]`);
  if (parsed.diagnostics.length) {
    return {
      ...parsed.diagnostics[0]!,
      code: "E0601",
      message: `bad value in --sweep ${text}: ${parsed.diagnostics[0]!.message}`,
    };
  }
  try {
    const values = sweepValues(parsed.expr);
    if (values.length === 0) return error("E0601", span, `--sweep ${name} has no values`);
    return axis(values);
  } catch (e) {
    if (e instanceof DiagnosticError)
      return {
        ...e.diagnostic,
        code: "E0601",
        message: `bad value in --sweep ${text}: ${e.diagnostic.message}`,
      };
    throw e;
  }
}

/** A swept value as an argument; diagnostics about it point at `--sweep NAME`. */
function sweptArg(name: string, v: Value): BoundArg {
  return boundArg(name, v, syntheticSpan(`--sweep ${name}`));
}

/**
 * `parts=all`: every partition count that every partitioned layer accepts, from regular to
 * depthwise. Candidates are the divisors of the channel counts the network's convolutions see;
 * each is kept only if the whole network elaborates with it (with every tied parameter set to
 * it too, when `axis` names several).
 */
export function allParts(
  program: Program,
  net: NetworkDecl,
  axis: string | readonly string[],
  base: readonly BoundArg[],
): Value[] {
  const names = typeof axis === "string" ? [axis] : axis;
  const at = (v: Value) => [
    ...base.filter((a) => !names.includes(a.name)),
    ...names.map((n) => sweptArg(n, v)),
  ];
  const probe = buildNetwork(program, net, at({ t: "int", v: 1 }));
  if (!probe.ok) return [];
  const channels = new Set<number>();
  for (const n of probe.graph.nodes) {
    // What `parts` splits: a sepconv's spatial step reads `filters` when pointwise_first.
    if (n.op === "conv" || n.op === "sepconv") channels.add(partitionedChannels(probe.graph, n));
  }
  const candidates = [...new Set([...channels].flatMap(divisors))].sort((a, b) => a - b);
  const ok = (v: Value) => buildNetwork(program, net, at(v)).ok;
  const values: Value[] = candidates.map((c): Value => ({ t: "int", v: c })).filter(ok);
  const depthwise: Value = { t: "symbol", v: "depthwise" };
  if (ok(depthwise)) values.push(depthwise);
  return values;
}

/**
 * The cross product of the axes, first axis slowest, with the fixed `--set` arguments. Labels
 * show the swept axes; the variants carry every argument.
 */
export function crossProduct(
  net: NetworkDecl,
  axes: readonly Axis[],
  base: readonly BoundArg[],
): Variant[] {
  let points: BoundArg[][] = [[]];
  for (const a of axes)
    points = points.flatMap((p) =>
      a.values.map((v) => [...p, ...axisNames(a).map((n) => sweptArg(n, v))]),
    );
  const swept = axes.flatMap(axisNames);
  const fixed = base.filter((a) => !swept.includes(a.name));
  return points.map((point) => makeVariant(net.name.name, [...fixed, ...point], swept));
}
