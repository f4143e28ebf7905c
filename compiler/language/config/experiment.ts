import { sweepValues } from "./sweepValues.js";
import type { Arg, Expr, ExperimentDecl } from "../../../grammar/ast.js";
import type { Span } from "../../../grammar/span.js";
import { DiagnosticError, error, fail, type Diagnostic } from "../../../grammar/diagnostic.js";
import { evaluate } from "../elaborate/evaluate.js";
import { Scope } from "../elaborate/scope.js";
import { show, type Value } from "../elaborate/values.js";
import type { DeclTable } from "../resolve/table.js";
import { boundArg, makeVariant, variantArgs, type BoundArg, type Variant } from "../variant.js";
import { didYouMean } from "../suggest.js";
import { constraintOf, type Constraint } from "./constraints.js";
import { printExpr } from "../../../grammar/printer.js";

export type { Variant } from "../variant.js";

export interface Experiment {
  readonly name: string;
  readonly compare: readonly Variant[];
  /** One train config for all models, or one per compared model, in order. */
  readonly train: readonly string[];
  readonly sweep: readonly {
    readonly axis: string;
    readonly values: readonly Value[];
    /** Where the axis was written, for diagnostics about its values. */
    readonly span: Span;
  }[];
  readonly dataset?: string;
  readonly epochs?: number;
  readonly description?: string;
  /** Design space: groups of parameters that move together; the first of each is a sweep axis. */
  readonly tie: readonly (readonly string[])[];
  /** Design space: bounds on exact costs (`where macs <= 20M`) a configuration must meet. */
  readonly where: readonly Constraint[];
  /** Design space: configurations `archc search` draws from the feasible set, and its seed. */
  readonly samples?: number;
  readonly seed?: number;
}

export const experimentKeys = [
  "compare",
  "with",
  "sweep",
  "tie",
  "where",
  "samples",
  "seed",
  "dataset",
  "epochs",
  "description",
];

/** Whether an experiment declares a design space to search (`all`, `where` or `samples`). */
export function isDesignSpace(x: Experiment): boolean {
  return (
    x.where.length > 0 ||
    x.samples !== undefined ||
    x.sweep.some((s) => s.values.some((v) => v.t === "symbol" && v.v === "all"))
  );
}

export function evaluateExperiment(
  decl: ExperimentDecl,
  table: DeclTable,
): { experiment?: Experiment; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const out: { -readonly [K in keyof Experiment]: Experiment[K] } = {
    name: decl.name.name,
    compare: [],
    sweep: [],
    train: [],
    tie: [],
    where: [],
  };
  for (const entry of decl.entries) {
    try {
      const key = entry.key.name;
      if (!experimentKeys.includes(key)) {
        fail(
          "E0300",
          entry.key.span,
          `experiment has no setting '${key}'`,
          didYouMean(key, experimentKeys) ?? `settings: ${experimentKeys.join(", ")}`,
        );
      }
      switch (key) {
        case "compare":
          out.compare = [...out.compare, ...entry.args.map((a) => variant(a, table))];
          break;
        case "with":
          for (const a of entry.args) {
            const e = a.value;
            if (e.kind !== "Name" || a.name) {
              fail("E0302", a.span, "with names train configs, e.g. with imagenet_sgd");
            }
            if (!table.trains.has(e.name)) {
              fail(
                "E0203",
                e.span,
                `unknown train config '${e.name}'`,
                didYouMean(e.name, table.trains.keys()) ??
                  `configs: ${[...table.trains.keys()].join(", ") || "none"}`,
              );
            }
            out.train = [...out.train, e.name];
          }
          break;
        case "sweep":
          for (const a of entry.args) {
            if (!a.name)
              fail(
                "E0302",
                a.span,
                "sweep takes axis = [values], e.g. sweep parts = [1, 2, 4, depthwise]",
              );
            // `all`: every partition count valid for every layer, found when the space is searched.
            out.sweep = [
              ...out.sweep,
              { axis: a.name.name, values: sweepValues(a.value), span: a.span },
            ];
          }
          break;
        case "tie": {
          const names = entry.args.map((a) =>
            a.value.kind === "Name" && !a.name
              ? a.value.name
              : fail("E0302", a.span, "tie names parameters, e.g. tie p1, p2, p3"),
          );
          if (names.length < 2)
            fail("E0302", entry.span, "tie needs two parameters or more, e.g. tie p1, p2, p3");
          out.tie = [...out.tie, names];
          break;
        }
        case "where":
          for (const a of entry.args) {
            const c = constraintOf(a.value, printExpr(a.value));
            if ("code" in c) throw new DiagnosticError(c);
            out.where = [...out.where, c];
          }
          break;
        case "samples":
        case "seed": {
          const v = entry.args[0] ? evaluate(entry.args[0].value, new Scope()) : undefined;
          const min = key === "samples" ? 1 : 0;
          if (v?.t !== "int" || v.v < min)
            fail(
              "E0303",
              entry.span,
              `${key} must be an integer >= ${min}${v ? `, not ${show(v)}` : ""}`,
            );
          if (key === "samples") out.samples = v.v;
          else out.seed = v.v;
          break;
        }
        case "dataset": {
          const e = entry.args[0]?.value;
          const v = e?.kind === "Name" ? e.name : e ? evaluate(e, new Scope()) : undefined;
          out.dataset =
            typeof v === "string"
              ? v
              : v?.t === "string"
                ? v.v
                : fail("E0303", entry.span, "dataset must be a name or a path string");
          break;
        }
        case "epochs": {
          const v = entry.args[0] ? evaluate(entry.args[0].value, new Scope()) : undefined;
          if (v?.t !== "int" || v.v < 1)
            fail(
              "E0303",
              entry.span,
              `epochs must be a positive integer${v ? `, not ${show(v)}` : ""}`,
            );
          out.epochs = v.v;
          break;
        }
        case "description": {
          const v = entry.args[0] ? evaluate(entry.args[0].value, new Scope()) : undefined;
          if (v?.t !== "string") fail("E0303", entry.span, "description must be a string");
          out.description = v.v;
          break;
        }
      }
    } catch (e) {
      if (!(e instanceof DiagnosticError)) throw e;
      diagnostics.push(e.diagnostic);
    }
  }
  for (const s of out.sweep) {
    for (const v of out.compare) {
      const net = table.networks.get(v.network);
      if (net && !net.params.some((p) => p.name.name === s.axis)) {
        diagnostics.push({
          code: "E0300",
          severity: "error",
          message: `sweep axis '${s.axis}' is not a parameter of network ${v.network}`,
          span: decl.name.span,
          ...(didYouMean(
            s.axis,
            net.params.map((p) => p.name.name),
          )
            ? {
                hint: didYouMean(
                  s.axis,
                  net.params.map((p) => p.name.name),
                )!,
              }
            : {}),
        });
      }
    }
  }
  for (const group of out.tie) {
    const swept = group.filter((n) => out.sweep.some((s) => s.axis === n));
    if (swept.length !== 1)
      diagnostics.push(
        error(
          "E0302",
          decl.name.span,
          `tie ${group.join(", ")} needs exactly one of them as a sweep axis (it gives the values), not ${swept.length}`,
          `e.g. sweep ${group[0]} = [1, 4] with tie ${group.join(", ")}`,
        ),
      );
    else
      out.tie = out.tie.map((g) =>
        g === group ? [swept[0]!, ...g.filter((n) => n !== swept[0])] : g,
      );
    for (const v of out.compare) {
      const net = table.networks.get(v.network);
      const missing = group.find((n) => net && !net.params.some((p) => p.name.name === n));
      if (missing)
        diagnostics.push(
          error(
            "E0300",
            decl.name.span,
            `tie names '${missing}', not a parameter of network ${v.network}`,
          ),
        );
    }
  }
  if (out.train.length > 1 && out.train.length !== out.compare.length && diagnostics.length === 0) {
    diagnostics.push({
      code: "E0301",
      severity: "error",
      message: `experiment ${decl.name.name} compares ${out.compare.length} models but names ${out.train.length} train configs`,
      span: decl.name.span,
      hint: "name one config for all models, or one per model in the order of compare",
    });
  }
  if (out.compare.length === 0 && diagnostics.length === 0) {
    diagnostics.push(
      error(
        "E0302",
        decl.name.span,
        `experiment ${decl.name.name} compares nothing`,
        "add e.g. compare xception(residual = true), xception(residual = false)",
      ),
    );
  }
  return diagnostics.length ? { diagnostics } : { experiment: out, diagnostics };
}

function variant(a: Arg, table: DeclTable): Variant {
  const e: Expr = a.value;
  const [name, args, span] =
    e.kind === "Call"
      ? [e.callee.name, e.args, e.callee.span]
      : e.kind === "Name"
        ? [e.name, [] as Arg[], e.span]
        : fail(
            "E0303",
            e.span,
            "compare takes networks, e.g. compare xception(parts = 4), xception(parts = 8)",
          );
  const net = table.networks.get(name);
  if (!net) {
    fail(
      "E0203",
      span,
      `unknown network '${name}'`,
      didYouMean(name, table.networks.keys()) ??
        `networks: ${[...table.networks.keys()].join(", ") || "none"}`,
    );
  }
  // Positional arguments take the names of the parameters they stand for, so that a variant is
  // a map from names to values.
  const bound = args.map((arg, i) => {
    const param = arg.name?.name ?? net.params[i]?.name.name;
    if (param === undefined)
      fail(
        "E0301",
        arg.span,
        `network ${name} takes ${net.params.length} arguments, but more are given`,
      );
    if (!net.params.some((p) => p.name.name === param)) {
      fail(
        "E0300",
        arg.name?.span ?? arg.span,
        `network ${name} has no parameter '${param}'`,
        didYouMean(
          param,
          net.params.map((p) => p.name.name),
        ),
      );
    }
    return boundArg(param, evaluate(arg.value, new Scope()), arg.span);
  });
  return makeVariant(name, bound);
}

/**
 * The models an experiment trains: each compared model at every point of the cross product of
 * its sweep axes. Sweep values become arguments, overriding what `compare` wrote.
 */
export function experimentVariants(x: Experiment): Variant[] {
  let points: BoundArg[][] = [[]];
  for (const s of x.sweep) {
    const tied = x.tie.find((g) => g[0] === s.axis) ?? [s.axis];
    points = points.flatMap((p) =>
      s.values.map((value) => [...p, ...tied.map((n) => boundArg(n, value, s.span))]),
    );
  }
  return x.compare.flatMap((v) =>
    points.map((point) =>
      point.length === 0 ? v : makeVariant(v.network, [...variantArgs(v), ...point]),
    ),
  );
}

/**
 * The train config for the i-th model of experimentVariants(x): the one config named, or the
 * one named for its compared network (each compared network owns a run of sweep points).
 */
export function trainConfigNameFor(x: Experiment, variantIndex: number): string | undefined {
  if (x.train.length <= 1) return x.train[0];
  const points = x.sweep.reduce((n, s) => n * s.values.length, 1);
  return x.train[Math.floor(variantIndex / points)];
}
