import type { Arg, Expr, ExperimentDecl } from "../../grammar/ast.js";
import { DiagnosticError, fail, type Diagnostic } from "../diagnostics/diagnostic.js";
import { evaluate } from "../elaborate/evaluate.js";
import { Scope } from "../elaborate/scope.js";
import { show, type Value } from "../elaborate/values.js";
import type { DeclTable } from "../resolve/table.js";
import { didYouMean } from "../suggest.js";

export interface Variant {
  readonly network: string;
  readonly args: readonly Arg[];
  /** As written, e.g. `xception(residual = false)`. */
  readonly label: string;
}

export interface Experiment {
  readonly name: string;
  readonly compare: readonly Variant[];
  readonly train?: string;
  readonly sweep: readonly { readonly axis: string; readonly values: readonly Value[] }[];
  readonly dataset?: string;
  readonly epochs?: number;
  readonly description?: string;
}

export const experimentKeys = ["compare", "with", "sweep", "dataset", "epochs", "description"];

export function evaluateExperiment(
  decl: ExperimentDecl,
  table: DeclTable,
): { experiment?: Experiment; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const out: { -readonly [K in keyof Experiment]: Experiment[K] } = {
    name: decl.name.name,
    compare: [],
    sweep: [],
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
        case "with": {
          const e = entry.args[0]?.value;
          if (!e || e.kind !== "Name" || entry.args.length !== 1)
            fail("E0302", entry.span, "with names one train config, e.g. with imagenet_sgd");
          if (!table.trains.has(e.name)) {
            fail(
              "E0203",
              e.span,
              `unknown train config '${e.name}'`,
              didYouMean(e.name, table.trains.keys()) ??
                `configs: ${[...table.trains.keys()].join(", ") || "none"}`,
            );
          }
          out.train = e.name;
          break;
        }
        case "sweep":
          for (const a of entry.args) {
            if (!a.name)
              fail(
                "E0302",
                a.span,
                "sweep takes axis = [values], e.g. sweep parts = [1, 2, 4, depthwise]",
              );
            const v = evaluate(a.value, new Scope());
            out.sweep = [
              ...out.sweep,
              { axis: a.name.name, values: v.t === "list" ? v.items : [v] },
            ];
          }
          break;
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
  if (out.compare.length === 0 && diagnostics.length === 0) {
    fail(
      "E0302",
      decl.name.span,
      `experiment ${decl.name.name} compares nothing`,
      "add e.g. compare xception(residual = true), xception(residual = false)",
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
  for (const arg of args) {
    if (arg.name && !net.params.some((p) => p.name.name === arg.name!.name)) {
      fail(
        "E0300",
        arg.name.span,
        `network ${name} has no parameter '${arg.name.name}'`,
        didYouMean(
          arg.name.name,
          net.params.map((p) => p.name.name),
        ),
      );
    }
  }
  const label = `${name}(${args.map((x) => (x.name ? `${x.name.name} = ` : "") + show(evaluate(x.value, new Scope()))).join(", ")})`;
  return { network: name, args, label };
}
