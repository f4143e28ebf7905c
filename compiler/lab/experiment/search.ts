import type { NetworkDecl } from "../../../grammar/ast.js";
import { syntheticSpan, type Span } from "../../../grammar/span.js";
import { error, type Diagnostic } from "../../../grammar/diagnostic.js";
import {
  admitting,
  compares,
  holds,
  isExact,
  isLatency,
  parseWhere,
  type Constraint,
  type Costs,
  type ExactConstraint,
  type LatencyConstraint,
} from "../../language/config/constraints.js";
import type { Value } from "../../language/elaborate/values.js";
import { CountMemo } from "../../language/elaborate/elaborate.js";
import {
  countNetworkTotals,
  parseSets,
  pickDeclaration,
  pickNetwork,
  pickTrainConfig,
  type Program,
} from "../../language/program.js";
import { boundArg, makeVariant, type BoundArg, type Variant } from "../../language/variant.js";
import { axisNames, type Axis } from "../sweep/axes.js";
import { Random } from "../train/data/random.js";
import { expandAxes, resolveAxes } from "./axes.js";
import type { ExperimentPlan } from "./plan.js";

/** What a search is asked for: a design space (axes, constraints) and how many to draw. */
export interface SearchRequest {
  readonly network?: string;
  /** An experiment declaration whose `sweep`, `tie`, `where`, `samples` and `seed` give the space. */
  readonly experiment?: string;
  readonly sweep?: readonly string[];
  readonly set?: readonly string[];
  readonly where?: readonly string[];
  /** Configurations to draw (default: every feasible one). */
  readonly samples?: number;
  readonly seed?: number;
  readonly config?: string;
  readonly training?: boolean;
  /**
   * `--snap`: parts that do not divide a layer move to the nearest valid value, so a
   * configuration is counted (and is feasible or not) as the run will build it.
   */
  readonly snap?: boolean;
}

/** One configuration of the space, with its exact costs. */
export interface Configuration {
  /** Its index in the space: the axes' value indices in mixed radix, first axis slowest. */
  readonly index: number;
  readonly costs: Costs;
}

export interface SearchPlan extends ExperimentPlan {
  /** Configurations in the space (the cross product of the axes). */
  readonly space: number;
  /** Configurations that elaborate and meet every constraint. */
  readonly feasible: number;
  /** Configurations that do not elaborate (e.g. parts that do not divide a layer). */
  readonly invalid: number;
  readonly constraints: readonly Constraint[];
  /**
   * Latency constraints are left: `variants` are the configurations that meet the exact ones,
   * cheapest first, and `feasible` counts them; screenLatency (screen.ts) times them and draws
   * the sample from those that meet the latency bounds.
   */
  readonly screening?: Screening;
}

/** What is left to do for a space with latency constraints (see SearchPlan.screening). */
export interface Screening {
  readonly space: DesignSpace;
  /** The configurations that meet every exact constraint, by MACs, then params, then index. */
  readonly candidates: readonly Configuration[];
  readonly exact: readonly ExactConstraint[];
  readonly latency: readonly LatencyConstraint[];
  readonly samples?: number;
  readonly seed: number;
}

/** The design space: a network, fixed arguments, axes and constraints. */
export interface DesignSpace {
  readonly program: Program;
  readonly net: NetworkDecl;
  readonly base: readonly BoundArg[];
  readonly axes: readonly Axis[];
  readonly constraints: readonly Constraint[];
  /** Counted as `--snap` builds it (see SearchRequest.snap). */
  readonly snap?: boolean;
}

/** The space's size: the product of the axes' value counts. */
export const spaceSize = (axes: readonly Axis[]): number =>
  axes.reduce((n, a) => n * a.values.length, 1);

/** The values of configuration `index`, one per axis (first axis slowest, as crossProduct). */
export function valuesAt(axes: readonly Axis[], index: number): Value[] {
  const out: Value[] = new Array(axes.length);
  let rest = index;
  for (let k = axes.length - 1; k >= 0; k--) {
    const n = axes[k]!.values.length;
    out[k] = axes[k]!.values[rest % n]!;
    rest = Math.floor(rest / n);
  }
  return out;
}

function argsAt(space: DesignSpace, index: number, span: (name: string) => Span): BoundArg[] {
  const values = valuesAt(space.axes, index);
  const swept = space.axes.flatMap(axisNames);
  return [
    ...space.base.filter((a) => !swept.includes(a.name)),
    ...space.axes.flatMap((a, k) => axisNames(a).map((n) => boundArg(n, values[k]!, span(n)))),
  ];
}

/** The variant of configuration `index`; its label shows the swept arguments. */
export function variantAt(space: DesignSpace, index: number): Variant {
  const span = (n: string) => syntheticSpan(`--sweep ${n}`);
  return makeVariant(
    space.net.name.name,
    argsAt(space, index, span),
    space.axes.flatMap(axisNames),
  );
}

/**
 * Exact costs of configuration `index` from elaboration alone (no model is built, nor its graph),
 * or undefined when it does not elaborate. `memo` holds the block calls counted for earlier
 * configurations: pass one for the whole space.
 */
export function costsAt(
  space: DesignSpace,
  index: number,
  memo: CountMemo = new CountMemo(),
): Costs | undefined {
  const span = (n: string) => syntheticSpan(`--sweep ${n}`);
  const counted = countNetworkTotals(space.program, space.net, argsAt(space, index, span), memo, {
    snap: space.snap ?? false,
  });
  if (!counted.ok) return undefined;
  const t = counted.totals;
  return { params: t.params.total, trainable: t.params.trainable, macs: t.macs };
}

/**
 * Every configuration of the space with its costs, in index order (invalid ones left out), and
 * how many did not elaborate.
 */
export function enumerate(space: DesignSpace): { valid: Configuration[]; invalid: number } {
  const valid: Configuration[] = [];
  let invalid = 0;
  const n = spaceSize(space.axes);
  // Configurations share most block calls (the same stage at the same arguments): count each once.
  const memo = new CountMemo();
  for (let index = 0; index < n; index++) {
    const costs = costsAt(space, index, memo);
    if (costs) valid.push({ index, costs });
    else invalid++;
  }
  return { valid, invalid };
}

/**
 * The feasible set's emptiness explained: the constraint that removes the last configurations
 * (the others, in order, hold for some), and the nearest bound that would admit one. Located at
 * the constraint.
 */
export function emptyFeasibleSet(
  valid: readonly Configuration[],
  constraints: readonly ExactConstraint[],
  network: string,
): Diagnostic {
  if (!valid.length)
    return error(
      "E0605",
      constraints[0]?.span ?? syntheticSpan("--sweep"),
      `no configuration of the design space of ${network} elaborates`,
      "each one is an error of its own: summarise one with archc summary --set to see it",
    );
  return emptiedBy(valid, constraints, network, (x, c) => x.costs[c.cost], false);
}

/**
 * The first of `constraints` that no configuration of `left` meets (after the ones before it),
 * as E0605 at that constraint with the bound nearest to it that admits a configuration.
 * `value(x, c)` is x's cost that c bounds; `after` says constraints were applied before these.
 */
export function emptiedBy<T, C extends Constraint>(
  left: readonly T[],
  constraints: readonly C[],
  network: string,
  value: (x: T, c: C) => number,
  after: boolean,
): Diagnostic {
  for (const [i, c] of constraints.entries()) {
    const next = left.filter((x) => compares(c, value(x, c)));
    if (next.length) {
      left = next;
      continue;
    }
    const values = left.map((x) => value(x, c));
    const nearest = c.op.startsWith("<") ? Math.min(...values) : Math.max(...values);
    const others = after || i > 0 ? " with the constraints before it" : "";
    return error(
      "E0605",
      c.span,
      `no configuration of ${network} meets ${c.text}${others}: the feasible set is empty`,
      `the nearest budget that admits a configuration is ${admitting(c, nearest)} (of ${left.length} configuration${left.length === 1 ? "" : "s"} left before it)`,
    );
  }
  throw new Error("emptiedBy called with a non-empty feasible set");
}

/**
 * `samples` indices of the feasible list drawn uniformly without replacement by the seed, in
 * space order; all of them when there are no more than asked for.
 */
export function sample(count: number, samples: number | undefined, seed: number): number[] {
  const all = Array.from({ length: count }, (_, i) => i);
  if (samples === undefined || samples >= count) return all;
  // A partial Fisher-Yates shuffle: every subset of `samples` is equally likely.
  const rng = new Random(seed);
  for (let i = 0; i < samples; i++) {
    const j = i + rng.below(count - i);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, samples).sort((a, b) => a - b);
}

/** The design space a search request names: its network, fixed arguments, axes, constraints. */
export function designSpace(
  program: Program,
  req: SearchRequest,
): { space: DesignSpace; samples?: number; seed: number; name: string } | Diagnostic[] {
  const file = program.loaded.root?.file ?? "<spec>";
  const sets = parseSets(req.set ?? []);
  if (sets.diagnostics.length) return sets.diagnostics;
  let net: NetworkDecl | Diagnostic;
  let sweep = [...(req.sweep ?? [])];
  let where: Constraint[] = [];
  let samples = req.samples;
  let seed = req.seed;
  let base: BoundArg[] = [...sets.args];
  let name: string;
  if (req.experiment) {
    const x = pickDeclaration(program, "experiment", req.experiment);
    if ("code" in x) return [x];
    const model = x.compare[0];
    if (x.compare.length !== 1 || !model)
      return [
        error(
          "E0605",
          syntheticSpan(`--experiment ${req.experiment}`),
          `a search takes one compared network as its design space; ${x.name} compares ${x.compare.length}`,
        ),
      ];
    net = pickNetwork(program, model.network);
    const fromModel = [...model.point].map(([n, v]) => boundArg(n, v, model.spans.get(n)!));
    base = [...fromModel, ...sets.args];
    where = [...x.where];
    samples ??= x.samples;
    seed ??= x.seed;
    name = `search-${x.name}`;
    const axes = x.sweep.map((s) => ({ name: s.axis, values: s.values, span: s.span }));
    if ("code" in net) return [net];
    const resolved = experimentAxes(program, net, axes, x.tie, base);
    if (!Array.isArray(resolved)) return [resolved];
    const extra = resolveAxes(program, net, sweep, base);
    if (!Array.isArray(extra)) return [extra];
    sweep = [];
    const all = [...resolved, ...extra];
    return finish(all);
  }
  net = pickNetwork(program, req.network);
  if ("code" in net) return [net];
  name = `search-${net.name.name}`;
  if (!sweep.length)
    return [
      error(
        "E0601",
        syntheticSpan(file),
        "a search needs a design space",
        "add axes, e.g. --sweep parts=all --sweep width=16,32 (or --experiment NAME)",
      ),
    ];
  const axes = resolveAxes(program, net, sweep, base);
  if (!Array.isArray(axes)) return [axes];
  return finish(axes);

  function finish(axes: readonly Axis[]) {
    const constraints: Constraint[] = [...where];
    for (const w of req.where ?? []) {
      const c = parseWhere(w);
      if ("code" in c) return [c];
      constraints.push(c);
    }
    return {
      space: {
        program,
        net: net as NetworkDecl,
        base,
        axes,
        constraints,
        ...(req.snap ? { snap: true } : {}),
      },
      ...(samples !== undefined ? { samples } : {}),
      seed: seed ?? 0,
      name,
    };
  }
}

/** An experiment's `sweep` axes (with `all` expanded) and its `tie` groups as tied axes. */
function experimentAxes(
  program: Program,
  net: NetworkDecl,
  sweep: readonly { name: string; values: readonly Value[]; span: Span }[],
  tie: readonly (readonly string[])[],
  base: readonly BoundArg[],
): Axis[] | Diagnostic {
  const tiedAway = new Set(tie.flatMap((g) => g.slice(1)));
  const given = sweep
    .filter((s) => !tiedAway.has(s.name))
    .map((s) => {
      const tied = (tie.find((g) => g[0] === s.name) ?? []).slice(1);
      return {
        axis: { name: s.name, values: s.values, ...(tied.length ? { tied } : {}) },
        span: s.span,
      };
    });
  return expandAxes(program, net, given, base);
}

/**
 * The search planner: every configuration of the design space is summarised from exact counts
 * (no model is built), the constraints keep the feasible ones, and `samples` of them are drawn
 * uniformly by the seed (all when there are no more). An empty feasible set is E0605 at the
 * constraint that emptied it.
 */
export function planSearch(program: Program, req: SearchRequest): SearchPlan | Diagnostic[] {
  const ds = designSpace(program, req);
  if (Array.isArray(ds)) return ds;
  const { space } = ds;
  const chosen =
    req.training || req.config !== undefined ? pickTrainConfig(program, req.config) : undefined;
  if (chosen && "code" in chosen) return [chosen];
  const { valid, invalid } = enumerate(space);
  const exact = space.constraints.filter(isExact);
  const latency = space.constraints.filter(isLatency);
  const feasible = valid.filter((x) => exact.every((c) => holds(c, x.costs)));
  if (!feasible.length) return [emptyFeasibleSet(valid, exact, space.net.name.name)];
  const common = {
    axes: space.axes.flatMap(axisNames),
    configFor: () => chosen?.config,
    name: ds.name,
    space: spaceSize(space.axes),
    feasible: feasible.length,
    invalid,
    constraints: space.constraints,
  };
  if (latency.length) {
    // Timed cheapest first: the likeliest to meet a bound are known first, and a search stopped
    // by Ctrl-C has timed those.
    const candidates = [...feasible].sort(
      (a, b) => a.costs.macs - b.costs.macs || a.costs.params - b.costs.params || a.index - b.index,
    );
    return {
      ...common,
      variants: candidates.map((x) => variantAt(space, x.index)),
      screening: {
        space,
        candidates,
        exact,
        latency,
        ...(ds.samples !== undefined ? { samples: ds.samples } : {}),
        seed: ds.seed,
      },
    };
  }
  const picked = sample(feasible.length, ds.samples, ds.seed).map((i) => feasible[i]!);
  return { ...common, variants: picked.map((x) => variantAt(space, x.index)) };
}
