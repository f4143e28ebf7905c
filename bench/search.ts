/**
 * `archc search`'s planner on Xception: every configuration of a design space summarised from the
 * compiler's exact counts (params, MACs) and checked against a MAC budget, without building a
 * model; beside it, the brute-force cost of building each tfjs model to count its parameters (as
 * pycls checks a FLOP budget). Goal (issue 21): at least 1,000 configurations per second on one
 * core.
 */
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../compiler/language/paths.js";
import { loadProgram } from "../compiler/language/program.js";
import { resolveAxes } from "../compiler/lab/experiment/axes.js";
import {
  enumerate,
  spaceSize,
  variantAt,
  type DesignSpace,
} from "../compiler/lab/experiment/search.js";
import { parseWhere, type Constraint } from "../compiler/language/config/constraints.js";
import { buildVariant } from "../compiler/language/program.js";

/** CPU seconds (user + system) of this process: one core's time, whatever else the machine runs. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Configurations per CPU second of `pass` over `n` configurations: the first pass, and the best of those in ~2 s. */
function rate(n: number, pass: () => void): { first: number; best: number } {
  const times: number[] = [];
  const until = cpuSeconds() + 2;
  do {
    const t0 = cpuSeconds();
    pass();
    times.push(cpuSeconds() - t0);
  } while (cpuSeconds() < until || times.length < 3);
  return { first: n / times[0]!, best: n / Math.min(...times) };
}

export async function runSearchBench(): Promise<void> {
  const program = loadProgram(join(packageRoot, "specs", "xception.arch"));
  const net = program.table.networks.get("xception")!;
  const axes = resolveAxes(
    program,
    net,
    ["parts=all", "mid=none,relu,elu", "residual=true,false", "classes=10,1000"],
    [],
  );
  if (!Array.isArray(axes)) throw new Error(axes.message);
  const budget = parseWhere("macs <= 4G") as Constraint;
  const space: DesignSpace = { program, net, base: [], axes, constraints: [budget] };
  const n = spaceSize(axes);
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")} on ${cpus().length} cores; rates are per CPU second of this process`,
  );
  // What the planner did before counting: elaborate each configuration into its whole graph.
  const graphs = rate(n, () => {
    for (let i = 0; i < n; i++) buildVariant(program, variantAt(space, i));
  });
  const counted = rate(n, () => enumerate(space));
  const show = (r: { first: number; best: number }) =>
    `${r.best.toFixed(0)} configurations/s (first pass ${r.first.toFixed(0)}/s)`;
  console.log(
    `search: ${n} Xception configurations (parts=all x mid x residual x classes) summarised from exact counts: ${show(counted)}; goal >= 1000`,
  );
  console.log(`  elaborating each into its IR graph instead: ${show(graphs)}`);
  const best = 1 / counted.best;
  const [{ buildModelFromIR }, runtime] = await Promise.all([
    import("../compiler/backends/tfjs/model.js"),
    import("../compiler/backends/tfjs/runtime.js"),
  ]);
  await runtime.initBackend("cpu");
  const built = [0, 1, 2].map((i) => {
    const v = variantAt(space, i * 7);
    const r = buildVariant(program, v);
    if (!r.ok) throw new Error(r.diagnostics[0]!.message);
    return r.graph;
  });
  const t0 = cpuSeconds();
  for (const g of built) {
    const m = buildModelFromIR(g);
    m.countParams();
    m.dispose();
  }
  const perModel = ((cpuSeconds() - t0) * 1000) / built.length;
  console.log(
    `brute force: building each tfjs model to count it: ${perModel.toFixed(0)} CPU ms per configuration (${(1000 / perModel).toFixed(1)} configurations/s), ${(perModel / 1000 / best).toFixed(0)}x slower`,
  );
}
