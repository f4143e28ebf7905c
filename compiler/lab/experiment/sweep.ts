import { syntheticSpan } from "../../../grammar/span.js";
import { error, type Diagnostic } from "../../../grammar/diagnostic.js";
import {
  experimentVariants,
  isDesignSpace,
  trainConfigNameFor,
} from "../../language/config/experiment.js";
import {
  parseSets,
  pickDeclaration,
  pickNetwork,
  pickTrainConfig,
  type Program,
} from "../../language/program.js";
import { withArgs } from "../../language/variant.js";
import { axisNames, crossProduct } from "../sweep/axes.js";
import { resolveAxes } from "./axes.js";
import type { ExperimentPlan } from "./plan.js";

/** What a sweep is asked for on the command line (or through the API). */
export interface SweepRequest {
  readonly network?: string;
  readonly experiment?: string;
  /** `--sweep` axes as written: `parts=1,2,4,depthwise`, `parts=all`, `p1=p2=1,4`. */
  readonly sweep?: readonly string[];
  /** `--set` arguments as written: `classes=10`. */
  readonly set?: readonly string[];
  readonly config?: string;
  /** Whether the variants are trained: then a file with several configs must name one. */
  readonly training?: boolean;
}

/**
 * The sweep planner: an experiment declaration's models, or the cross product of `--sweep` axes
 * (first axis slowest) with the `--set` arguments fixed.
 */
export function planSweep(program: Program, req: SweepRequest): ExperimentPlan | Diagnostic[] {
  const file = program.loaded.root?.file ?? "<spec>";
  const sets = parseSets(req.set ?? []);
  if (sets.diagnostics.length) return sets.diagnostics;
  if (req.experiment) {
    const x = pickDeclaration(program, "experiment", req.experiment);
    if ("code" in x) return [x];
    if (isDesignSpace(x))
      return [
        error(
          "E0605",
          syntheticSpan(`--experiment ${req.experiment}`),
          `experiment ${x.name} declares a design space (sweep ... = all, where or samples)`,
          `search it: archc search FILE --experiment ${x.name}`,
        ),
      ];
    const variants = experimentVariants(x).map((v) => withArgs(v, sets.args));
    return {
      variants,
      axes: x.sweep.length ? x.sweep.map((s) => s.axis) : ["model"],
      configFor: (i) => {
        const name = trainConfigNameFor(x, i);
        return name ? program.trains.get(name) : undefined;
      },
      name: `sweep-${req.experiment}`,
    };
  }
  const net = pickNetwork(program, req.network);
  if ("code" in net) return [net];
  if (!req.sweep?.length)
    return [
      error(
        "E0601",
        syntheticSpan(file),
        "nothing to sweep",
        "add e.g. --sweep parts=1,2,4,depthwise (or --experiment NAME)",
      ),
    ];
  const axes = resolveAxes(program, net, req.sweep, sets.args);
  if (!Array.isArray(axes)) return [axes];
  const chosen =
    req.training || req.config !== undefined ? pickTrainConfig(program, req.config) : undefined;
  if (chosen && "code" in chosen) return [chosen];
  const config = chosen?.config;
  return {
    variants: crossProduct(net, axes, sets.args),
    axes: axes.flatMap(axisNames),
    configFor: () => config,
    name: `sweep-${net.name.name}`,
  };
}
