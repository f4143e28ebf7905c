import type { NetworkDecl } from "../../../grammar/ast.js";
import { syntheticSpan, type Span } from "../../../grammar/span.js";
import { error, type Diagnostic } from "../../../grammar/diagnostic.js";
import type { Program } from "../../language/program.js";
import type { BoundArg } from "../../language/variant.js";
import { allParts, axisNames, parseAxis, type Axis } from "../sweep/axes.js";

/**
 * `--sweep` axes as written, parsed against the network, with `all` expanded to every partition
 * count valid for every layer (with the `--set` arguments, and tied parameters moving together).
 */
export function resolveAxes(
  program: Program,
  net: NetworkDecl,
  texts: readonly string[],
  base: readonly BoundArg[],
): Axis[] | Diagnostic {
  const parsed: { axis: Axis; span: Span }[] = [];
  for (const text of texts) {
    const a = parseAxis(text, net);
    if ("code" in a) return a;
    parsed.push({ axis: a, span: syntheticSpan(`--sweep ${text}`) });
  }
  return expandAxes(program, net, parsed, base);
}

/**
 * Axes as values (from `--sweep` or an experiment's `sweep` and `tie`), checked that no
 * parameter is swept twice, with `all` expanded; diagnostics point at `span`.
 */
export function expandAxes(
  program: Program,
  net: NetworkDecl,
  given: readonly { axis: Axis; span: Span }[],
  base: readonly BoundArg[],
): Axis[] | Diagnostic {
  const axes: Axis[] = [];
  for (const { axis: a, span } of given) {
    const taken = axes.flatMap(axisNames).find((n) => axisNames(a).includes(n));
    if (taken !== undefined)
      return error(
        "E0601",
        span,
        `${taken} is already an axis; each parameter may be swept once`,
        "tie parameters in one axis instead: --sweep p1=p2=1,4",
      );
    if (a.values.length === 1 && a.values[0]!.t === "symbol" && a.values[0]!.v === "all") {
      const values = allParts(program, net, axisNames(a), base);
      if (!values.length)
        return error(
          "E0601",
          span,
          `no value of ${axisNames(a).join(" = ")} is valid for every layer of ${net.name.name}`,
        );
      axes.push({ ...a, values });
    } else axes.push(a);
  }
  return axes;
}
