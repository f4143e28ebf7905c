import type { ExpectDecl } from "../../../grammar/ast.js";
import { DiagnosticError, error, fail, type Diagnostic } from "../../../grammar/diagnostic.js";
import { evaluate } from "../elaborate/evaluate.js";
import { Scope } from "../elaborate/scope.js";
import { show } from "../elaborate/values.js";
import type { IRGraph } from "../ir/types.js";
import { didYouMean } from "../suggest.js";

export const expectKeys = ["params", "trainable", "non_trainable", "macs", "output"] as const;
type Key = (typeof expectKeys)[number];

function actual(graph: IRGraph, key: Key): number | readonly number[] {
  switch (key) {
    case "params":
      return graph.totals.params.total;
    case "trainable":
      return graph.totals.params.trainable;
    case "non_trainable":
      return graph.totals.params.nonTrainable;
    case "macs":
      return graph.totals.macs;
    case "output":
      return graph.nodes[graph.output]!.shape;
  }
}

/**
 * Compares an elaborated network against the figures an `expect` declaration states. A figure
 * with `tolerance = 0.005` may differ by that fraction; without one it must be exact.
 */
export function checkExpectation(decl: ExpectDecl, graph: IRGraph): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const entry of decl.entries) {
    try {
      const key = entry.key.name as Key;
      if (!expectKeys.includes(key)) {
        fail(
          "E0300",
          entry.key.span,
          `expect has no figure '${entry.key.name}'`,
          didYouMean(entry.key.name, expectKeys) ?? `figures: ${expectKeys.join(", ")}`,
        );
      }
      const [first, ...rest] = entry.args;
      if (!first || first.name)
        fail("E0302", entry.span, `${key} needs the expected value, e.g. ${key} 1000`);
      const want = evaluate(first.value, new Scope());
      let tolerance = 0;
      for (const r of rest) {
        if (r.name?.name !== "tolerance")
          fail("E0300", r.span, "the only option of an expected figure is tolerance = FRACTION");
        const t = evaluate(r.value, new Scope());
        if ((t.t !== "float" && t.t !== "int") || t.v < 0)
          fail("E0303", r.span, "tolerance must be a fraction >= 0, e.g. 0.005");
        tolerance = t.v;
      }
      const got = actual(graph, key);
      if (typeof got === "number") {
        if (want.t !== "int" && want.t !== "float")
          fail("E0303", first.span, `${key} must be a number, not ${show(want)}`);
        const ok =
          tolerance === 0 ? got === want.v : Math.abs(got - want.v) <= tolerance * Math.abs(want.v);
        if (!ok) {
          const drift = ((got - want.v) / want.v) * 100;
          out.push(
            error(
              "E0602",
              entry.span,
              `${graph.network}: ${key} is ${got.toLocaleString("en-US")}, but the spec expects ${want.v.toLocaleString("en-US")}${tolerance ? ` within ${tolerance * 100}%` : ""} (${drift >= 0 ? "+" : ""}${drift.toFixed(3)}%)`,
              "the network changed, or the expectation is out of date",
            ),
          );
        }
      } else {
        const dims =
          want.t === "size"
            ? want.dims
            : want.t === "list"
              ? want.items.map((i) => (i.t === "int" ? i.v : NaN))
              : undefined;
        if (!dims || dims.length !== got.length || dims.some((d, i) => d !== got[i])) {
          out.push(
            error(
              "E0602",
              entry.span,
              `${graph.network}: output is [${got.join(", ")}], but the spec expects ${show(want)}`,
            ),
          );
        }
      }
    } catch (e) {
      if (!(e instanceof DiagnosticError)) throw e;
      out.push(e.diagnostic);
    }
  }
  return out;
}
