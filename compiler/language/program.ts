import type { Arg, NetworkDecl } from "../../grammar/ast.js";
import { parseExpression } from "../../grammar/parse.js";
import { commandLineSpan, syntheticSpan } from "../../grammar/span.js";
import { checkExpectation } from "./config/expect.js";
import {
  evaluateExperiment,
  experimentVariants,
  isDesignSpace,
  type Experiment,
} from "./config/experiment.js";
import { evaluateTrain, type TrainConfig } from "./config/train.js";
import { DiagnosticError, error, type Diagnostic } from "../../grammar/diagnostic.js";
import {
  countNetwork,
  elaborate,
  type CountMemo,
  type ElaborateOptions,
  type Totals,
} from "./elaborate/elaborate.js";
import { evaluate } from "./elaborate/evaluate.js";
import { Scope } from "./elaborate/scope.js";
import type { Snapped } from "./elaborate/ops/spec.js";
import type { IRGraph } from "./ir/types.js";
import type { SpecHost } from "./host.js";
import { load, type Loaded, type ReadFile } from "./load.js";
import { checkNames } from "./resolve/names.js";
import { checkRecursion } from "./resolve/recursion.js";
import { buildTable, type DeclTable } from "./resolve/table.js";
import { didYouMean } from "./suggest.js";
import { noNetworkParameter } from "./elaborate/layer.js";
import { boundArg, variantArgs, type BoundArg, type Variant } from "./variant.js";

/** A loaded, resolved spec: everything that can be known before choosing a network to build. */
export interface Program {
  readonly loaded: Loaded;
  readonly table: DeclTable;
  readonly trains: ReadonlyMap<string, TrainConfig>;
  readonly experiments: ReadonlyMap<string, Experiment>;
  readonly diagnostics: readonly Diagnostic[];
}

export function loadProgram(file: string, read?: ReadFile, host?: SpecHost): Program {
  const loaded = load(file, read, host);
  const diagnostics: Diagnostic[] = [...loaded.diagnostics];
  const table = buildTable(loaded, diagnostics);
  const trains = new Map<string, TrainConfig>();
  const experiments = new Map<string, Experiment>();
  // Syntax errors leave placeholder nodes; checking names in them would only add noise.
  if (diagnostics.length === 0) {
    for (const b of table.blocks.values()) checkNames(b, table, diagnostics);
    for (const n of table.networks.values()) checkNames(n, table, diagnostics);
    checkRecursion(table, diagnostics);
    for (const t of table.trains.values()) {
      const r = evaluateTrain(t);
      diagnostics.push(...r.diagnostics);
      if (r.config) trains.set(t.name.name, r.config);
    }
    for (const x of table.experiments.values()) {
      const r = evaluateExperiment(x, table);
      diagnostics.push(...r.diagnostics);
      if (r.experiment) experiments.set(x.name.name, r.experiment);
    }
  }
  return { loaded, table, trains, experiments, diagnostics };
}

export type BuildResult =
  | { ok: true; graph: IRGraph; snapped: readonly Snapped[] }
  | { ok: false; diagnostics: Diagnostic[] };

/**
 * `--set k=v` strings as arguments. Each value is user text: it is parsed once, as an expression
 * of the language, and evaluated to a Value; from here on it travels as that Value.
 */
export function parseSets(sets: readonly string[]): {
  args: BoundArg[];
  diagnostics: Diagnostic[];
} {
  const args: BoundArg[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const s of sets) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/s.exec(s);
    const span = syntheticSpan(`--set ${s}`);
    if (!m) {
      diagnostics.push(
        error(
          "E0601",
          span,
          `--set takes name=value, not '${s}'`,
          "for example --set parts=4 or --set mid=relu",
        ),
      );
      continue;
    }
    const parsed = parseExpression(`--set ${m[1]}`, m[2]!.trim());
    const bad = (d: Diagnostic): Diagnostic => ({
      ...d,
      code: "E0601",
      message: `bad value in --set ${s}: ${d.message}`,
    });
    if (parsed.diagnostics.length) {
      diagnostics.push(...parsed.diagnostics.map(bad));
      continue;
    }
    try {
      args.push(boundArg(m[1]!, evaluate(parsed.expr, new Scope()), span));
    } catch (e) {
      if (!(e instanceof DiagnosticError)) throw e;
      diagnostics.push(bad(e.diagnostic));
    }
  }
  return { args, diagnostics };
}

/** Picks the network to build: the one named, else the only one, else the last one in the root file. */
export function pickNetwork(program: Program, name?: string): NetworkDecl | Diagnostic {
  const file = program.loaded.root?.file ?? "<spec>";
  if (name !== undefined) {
    const net = program.table.networks.get(name);
    if (net) return net;
    return error(
      "E0600",
      commandLineSpan(`--network ${name}`),
      `${file} has no network named '${name}'`,
      didYouMean(name, program.table.networks.keys()) ??
        `networks: ${[...program.table.networks.keys()].join(", ") || "none"}`,
    );
  }
  const own =
    program.loaded.root?.program.decls.filter((d): d is NetworkDecl => d.kind === "NetworkDecl") ??
    [];
  const last = own[own.length - 1];
  if (last) return last;
  return error(
    "E0600",
    syntheticSpan(file),
    `${file} defines no network`,
    "add network NAME { input HxWxC ... }, or pass --network",
  );
}

/**
 * E0600 for a spec that declares nothing at all: empty, or only comments (a wrong path, a file
 * not yet written, a truncated copy). A file of blocks, train configs or imports alone is a
 * library and declares something; `archc check` passes it.
 */
export function declaresNothing(program: Program): Diagnostic | undefined {
  const root = program.loaded.root;
  if (!root || root.program.decls.length > 0 || root.program.imports.length > 0) return undefined;
  return error(
    "E0600",
    syntheticSpan(root.file),
    `${root.file} declares nothing: no network, block, train config, experiment or import`,
    "is this the file you meant? A spec declares network NAME { input HxWxC ... } or blocks to import",
  );
}

/**
 * A train config or experiment named on the command line (`--config`, `--experiment`), or the
 * E0603 diagnostic at that flag, with the closest names.
 */
export function pickDeclaration<K extends "config" | "experiment">(
  program: Program,
  flag: K,
  name: string,
): (K extends "config" ? TrainConfig : Experiment) | Diagnostic {
  const table: ReadonlyMap<string, TrainConfig | Experiment> =
    flag === "config" ? program.trains : program.experiments;
  const found = table.get(name);
  if (found) return found as K extends "config" ? TrainConfig : Experiment;
  const what = flag === "config" ? "train config" : "experiment";
  return error(
    "E0603",
    commandLineSpan(`--${flag} ${name}`),
    `${program.loaded.root?.file ?? "<spec>"} has no ${what} named '${name}'`,
    didYouMean(name, table.keys()) ?? `${what}s: ${[...table.keys()].join(", ") || "none"}`,
  );
}

/**
 * The train config a command uses when it may train: the one named (`--config`), else the file's
 * only one, else none (the built-in default). A file with several asks which (E0604 at the last
 * one, naming them all) rather than pick one that a new declaration would silently replace.
 */
export function pickTrainConfig(
  program: Program,
  name: string | undefined,
): { config?: TrainConfig; why: string } | Diagnostic {
  if (name !== undefined) {
    const c = pickDeclaration(program, "config", name);
    return "code" in c ? c : { config: c, why: `train config ${name} (--config)` };
  }
  const all = [...program.trains.values()];
  if (all.length === 0) return { why: "the built-in train config (the file declares none)" };
  if (all.length === 1)
    return { config: all[0]!, why: `train config ${all[0]!.name} (the file's only one)` };
  const decl = program.table.trains.get(all[all.length - 1]!.name);
  const names = all.map((c) => c.name);
  return error(
    "E0604",
    decl?.name.span ?? commandLineSpan("--config"),
    `${program.loaded.root?.file ?? "<spec>"} declares ${names.length} train configs (${names.join(", ")}): which one to train with is not clear`,
    `name one with --config ${names[0]}`,
  );
}

export function buildNetwork(
  program: Program,
  network: NetworkDecl,
  args: readonly (Arg | BoundArg)[],
  opts: ElaborateOptions = {},
): BuildResult {
  const unknown = unknownArgs(network, args);
  if (unknown.length) return { ok: false, diagnostics: unknown };
  const r = elaborate(program.table, network, args, opts);
  return r.ok ? r : { ok: false, diagnostics: [r.diagnostic] };
}

/**
 * A network's parameter and MAC totals with these arguments, as buildNetwork's graph has them
 * (and failing where it fails), without making the graph; block calls already counted in `memo`
 * are not expanded again. What a search counts each configuration of a design space with.
 */
export function countNetworkTotals(
  program: Program,
  network: NetworkDecl,
  args: readonly (Arg | BoundArg)[],
  memo: CountMemo,
  opts: Omit<ElaborateOptions, "onBlockCall"> = {},
): { ok: true; totals: Totals } | { ok: false; diagnostics: Diagnostic[] } {
  const unknown = unknownArgs(network, args);
  if (unknown.length) return { ok: false, diagnostics: unknown };
  const r = countNetwork(program.table, network, args, memo, opts);
  return r.ok ? r : { ok: false, diagnostics: [r.diagnostic] };
}

/** E0601 for each argument the network has no parameter for. */
function unknownArgs(network: NetworkDecl, args: readonly (Arg | BoundArg)[]): Diagnostic[] {
  const nameOf = (a: Arg | BoundArg) => (a.kind === "BoundArg" ? a.name : a.name?.name);
  const unknown = args.filter(
    (a) => nameOf(a) !== undefined && !network.params.some((p) => p.name.name === nameOf(a)),
  );
  const params = network.params.map((p) => p.name.name);
  return unknown.map((a) => {
    const p = noNetworkParameter(network.name.name, nameOf(a)!, params);
    return error("E0601", a.span, p.message, p.hint);
  });
}

/** Builds a variant: its network with its argument Values. */
export function buildVariant(
  program: Program,
  variant: Variant,
  opts: ElaborateOptions = {},
): BuildResult {
  const net = program.table.networks.get(variant.network);
  if (!net)
    return {
      ok: false,
      diagnostics: [
        error(
          "E0600",
          variant.spans.values().next().value ?? syntheticSpan(variant.label),
          `no network named '${variant.network}'`,
          didYouMean(variant.network, program.table.networks.keys()),
        ),
      ],
    };
  return buildNetwork(program, net, variantArgs(variant), opts);
}

/**
 * Everything `archc check` verifies beyond resolution: every network of the root file whose
 * parameters all have defaults elaborates, and every expectation holds.
 */
export function checkProgram(program: Program, opts: ElaborateOptions = {}): Diagnostic[] {
  const out: Diagnostic[] = [...program.diagnostics];
  if (out.length) return out;
  const rootFile = program.loaded.root?.file;
  // An expectation of a network at its defaults checks the graph built here, not a second one.
  const atDefaults = new Map<NetworkDecl, BuildResult>();
  for (const net of program.table.networks.values()) {
    if (net.span.file !== rootFile || net.params.some((p) => !p.default)) continue;
    const r = buildNetwork(program, net, [], opts);
    atDefaults.set(net, r);
    if (!r.ok) out.push(...r.diagnostics);
  }
  // Every model an experiment would train must build, at every point of its sweep. A design
  // space (`all`, `where`, `samples`) holds configurations that do not build by design: `archc
  // search` keeps the feasible ones and says when none is.
  for (const x of program.experiments.values()) {
    if (program.table.experiments.get(x.name)?.span.file !== rootFile) continue;
    if (isDesignSpace(x)) continue;
    for (const v of experimentVariants(x)) {
      if (!program.table.networks.has(v.network)) continue;
      const r = buildVariant(program, v, opts);
      if (!r.ok) {
        out.push(
          ...r.diagnostics.map((d) => ({
            ...d,
            notes: [
              ...(d.notes ?? []),
              {
                message: `while building ${v.label} for experiment ${x.name}`,
                span: program.table.experiments.get(x.name)!.name.span,
              },
            ],
          })),
        );
      }
    }
  }
  for (const exp of program.table.expects) {
    if (exp.span.file !== rootFile) continue;
    const net = program.table.networks.get(exp.target.callee.name);
    if (!net) {
      out.push(
        error(
          "E0203",
          exp.target.callee.span,
          `unknown network '${exp.target.callee.name}'`,
          didYouMean(exp.target.callee.name, program.table.networks.keys()),
        ),
      );
      continue;
    }
    const r =
      (exp.target.args.length === 0 ? atDefaults.get(net) : undefined) ??
      buildNetwork(program, net, exp.target.args, opts);
    if (!r.ok) out.push(...r.diagnostics);
    else out.push(...checkExpectation(exp, r.graph));
  }
  return out;
}
