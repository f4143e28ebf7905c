import type { BackendChoice } from "../../backends/tfjs/choices.js";
import { startBackend } from "../backend.js";
import { Exit, type IO } from "../io.js";
import { report } from "../report.js";

export interface EvalOptions {
  readonly split: string;
  readonly best?: boolean;
  readonly backend: BackendChoice;
  readonly json?: boolean;
}

/**
 * `archc eval RUN`: the run's weights measured on its data's test set (by default; training and
 * model selection never read it) or on the validation split it was chosen on; the number is
 * printed with its split and recorded in RUN/eval.json.
 */
export async function evalCommand(io: IO, dir: string, opts: EvalOptions): Promise<number> {
  const split = opts.split === "val" ? "val" : "test";
  const [lab, run, data] = await Promise.all([
    import("../../lab/train/evaluateRun.js"),
    import("../../lab/run/index.js"),
    import("../../lab/train/data/index.js"),
  ]);
  try {
    const network = lab.runNetwork(dir);
    if (!("graph" in network)) return report(io, network.program, [...network.diagnostics]);
    const backend = await startBackend(io, "eval", opts.backend, undefined, !!opts.json);
    if ("exit" in backend) return backend.exit;
    const e = await lab.evaluateRun(dir, network.graph, { split, best: opts.best ?? false });
    if (opts.json) io.out(JSON.stringify(e, null, 2));
    else
      io.out(
        `${dir}: ${split} accuracy ${e.accuracy.toFixed(4)}, ${split} loss ${e.loss.toFixed(4)} on ${e.data} (${e.examples} examples), weights ${e.weights}; recorded in ${run.runPaths(dir).evaluations}`,
      );
    return Exit.ok;
  } catch (e) {
    if (
      e instanceof run.RunError ||
      e instanceof run.CheckpointError ||
      e instanceof data.DataError
    ) {
      io.err(`archc eval: ${e.message}`);
      return Exit.diagnostics;
    }
    throw e;
  }
}
