/**
 * `archc search`'s planner on Xception: every configuration of a design space summarised from the
 * compiler's exact counts (params, MACs) and checked against a MAC budget, without building a
 * model; beside it, the brute-force cost of building each tfjs model to count its parameters (as
 * pycls checks a FLOP budget). Goal (issue 21): at least 1,000 configurations per second on one
 * core.
 */
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
  enumerate(space);
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    enumerate(space);
    times.push(performance.now() - t0);
  }
  const best = Math.min(...times);
  console.log(
    `search: ${n} Xception configurations (parts=all x mid x residual x classes) summarised from exact counts: ${((n / best) * 1000).toFixed(0)} configurations/s (best of 3; goal >= 1000)`,
  );
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
  const t0 = performance.now();
  for (const g of built) {
    const m = buildModelFromIR(g);
    m.countParams();
    m.dispose();
  }
  const perModel = (performance.now() - t0) / built.length;
  console.log(
    `brute force: building each tfjs model to count it: ${perModel.toFixed(0)} ms per configuration (${(1000 / perModel).toFixed(1)} configurations/s), ${(perModel / (best / n)).toFixed(0)}x slower`,
  );
}
