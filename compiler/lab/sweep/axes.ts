import type { Arg, NetworkDecl } from "../../../grammar/ast.js";
import { parseExpression } from "../../../grammar/parse.js";
import { syntheticSpan } from "../../../grammar/span.js";
import { error, DiagnosticError, type Diagnostic } from "../../../grammar/diagnostic.js";
import { evaluate } from "../../language/elaborate/evaluate.js";
import { divisors } from "../../language/elaborate/ops/partition.js";
import { Scope } from "../../language/elaborate/scope.js";
import { show, type Value } from "../../language/elaborate/values.js";
import { buildNetwork, type Program } from "../../language/program.js";
import { didYouMean } from "../../language/suggest.js";

/** One axis of a sweep: a network parameter and the values it takes, as written. */
export interface Axis {
  readonly name: string;
  readonly values: readonly Value[];
}

/** One point of the cross product: its label and the arguments that make it. */
export interface Variant {
  readonly label: string;
  readonly network: string;
  readonly point: Readonly<Record<string, Value>>;
  readonly args: readonly Arg[];
}

/** `parts=1,2,4,depthwise` -> an axis; `parts=all` is expanded later, against the network. */
export function parseAxis(text: string, net: NetworkDecl): Axis | Diagnostic {
  const span = syntheticSpan(`--sweep ${text}`);
  const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/s.exec(text);
  if (!m)
    return error(
      "E0601",
      span,
      `--sweep takes name=v1,v2,..., not '${text}'`,
      "for example --sweep parts=1,2,4,depthwise",
    );
  const name = m[1]!;
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
  const body = m[2]!.trim();
  if (body === "all") return { name, values: [{ t: "symbol", v: "all" }] };
  const parsed = parseExpression(`--sweep ${name}`, `[${body}]`);
  if (parsed.diagnostics.length) {
    return {
      ...parsed.diagnostics[0]!,
      code: "E0601",
      message: `bad value in --sweep ${text}: ${parsed.diagnostics[0]!.message}`,
    };
  }
  try {
    const v = evaluate(parsed.expr, new Scope());
    const values = v.t === "list" ? v.items : [v];
    if (values.length === 0) return error("E0601", span, `--sweep ${name} has no values`);
    return { name, values };
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

export function valueArg(name: string, v: Value): Arg {
  const span = syntheticSpan(`--sweep ${name}`);
  const parsed = parseExpression(`--sweep ${name}`, show(v));
  return { kind: "Arg", name: { kind: "Ident", name, span }, value: parsed.expr, span };
}

/**
 * `parts=all`: every partition count that every partitioned layer accepts, from regular to
 * depthwise. Candidates are the divisors of the channel counts the network's convolutions see;
 * each is kept only if the whole network elaborates with it.
 */
export function allParts(
  program: Program,
  net: NetworkDecl,
  axis: string,
  base: readonly Arg[],
): Value[] {
  const probe = buildNetwork(program, net, [
    ...base.filter((a) => a.name?.name !== axis),
    valueArg(axis, { t: "int", v: 1 }),
  ]);
  if (!probe.ok) return [];
  const channels = new Set<number>();
  for (const n of probe.graph.nodes) {
    if (n.op !== "conv" && n.op !== "sepconv") continue;
    const input = probe.graph.nodes[n.inputs[0]!]!;
    channels.add(input.shape[input.shape.length - 1]!);
  }
  const candidates = [...new Set([...channels].flatMap(divisors))].sort((a, b) => a - b);
  const ok = (v: Value) =>
    buildNetwork(program, net, [...base.filter((a) => a.name?.name !== axis), valueArg(axis, v)])
      .ok;
  const values: Value[] = candidates.map((c): Value => ({ t: "int", v: c })).filter(ok);
  const depthwise: Value = { t: "symbol", v: "depthwise" };
  if (ok(depthwise)) values.push(depthwise);
  return values;
}

/** The cross product of the axes, first axis slowest, with the fixed `--set` arguments. */
export function crossProduct(
  net: NetworkDecl,
  axes: readonly Axis[],
  base: readonly Arg[],
): Variant[] {
  let points: Record<string, Value>[] = [{}];
  for (const a of axes)
    points = points.flatMap((p) => a.values.map((v) => ({ ...p, [a.name]: v })));
  const swept = new Set(axes.map((a) => a.name));
  const fixed = base.filter((a) => !a.name || !swept.has(a.name.name));
  return points.map((point) => ({
    label: `${net.name.name}(${Object.entries(point)
      .map(([k, v]) => `${k} = ${show(v)}`)
      .join(", ")})`,
    network: net.name.name,
    point,
    args: [...fixed, ...Object.entries(point).map(([k, v]) => valueArg(k, v))],
  }));
}
