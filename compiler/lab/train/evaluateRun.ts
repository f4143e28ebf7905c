import { existsSync, readFileSync } from "node:fs";
import type { Json, Value } from "../../language/elaborate/values.js";
import type { IRGraph } from "../../language/ir/types.js";
import { buildVariant, loadProgram, type Program } from "../../language/program.js";
import { boundArg, makeVariant } from "../../language/variant.js";
import { syntheticSpan } from "../../../grammar/span.js";
import type { Diagnostic } from "../../../grammar/diagnostic.js";
import { atomicWrite } from "../../util/atomicWrite.js";
import { networkHash, sha256 } from "../run/identity.js";
import { readManifest, RunError } from "../run/manifest.js";
import { runPaths } from "../run/paths.js";
import { defaultValSplit, openDataset, type DataSplit } from "./data/index.js";
import type { InputAdaptation } from "./data/adapt.js";

/** One measurement of a trained run on one split, as eval.json records it. */
export interface Evaluation {
  readonly split: "val" | "test";
  /** best.bin (lowest validation loss) rather than the last checkpoint. */
  readonly best: boolean;
  readonly data: string;
  readonly examples: number;
  readonly loss: number;
  readonly accuracy: number;
  readonly weights: string;
  readonly at: string;
}

/** A run folder's spec: a program with diagnostics to report instead of a graph. */
export type RunNetwork =
  | { readonly graph: IRGraph }
  | { readonly program: Program; readonly diagnostics: readonly Diagnostic[] };

interface RunRecord {
  readonly source: { file: string; network: string; point?: Record<string, Value> };
  readonly identity: {
    graph?: Json;
    engine?: Json;
    seed?: Json;
    train?: { batch?: Json; evalCrop?: Json };
    data?: {
      source?: Json;
      valLimit?: Json;
      valSplit?: Json;
      adapt?: { resize?: Json; repeatChannels?: Json };
    };
  };
}

function runRecord(dir: string): RunRecord {
  const manifest = readManifest(dir);
  const source = manifest?.source as RunRecord["source"] | undefined;
  if (!manifest || !source?.file || !source.network)
    throw new RunError(
      `${dir} has no manifest.json naming its spec (is it an archc train run folder?)`,
    );
  if (!existsSync(source.file)) throw new RunError(`the run's spec ${source.file} is gone`);
  return { source, identity: manifest.identity as RunRecord["identity"] };
}

/** The network a run was trained as, built again from the spec its manifest names. */
export function runNetwork(dir: string): RunNetwork {
  const { source, identity } = runRecord(dir);
  const program = loadProgram(source.file);
  if (program.diagnostics.length) return { program, diagnostics: program.diagnostics };
  const variant = makeVariant(
    source.network,
    Object.entries(source.point ?? {}).map(([k, v]) =>
      boundArg(k, v, syntheticSpan(`${dir}: ${k}`)),
    ),
  );
  const built = buildVariant(program, variant);
  if (!built.ok) return { program, diagnostics: built.diagnostics };
  const same =
    identity.graph === undefined ||
    identity.graph === networkHash(built.graph) ||
    identity.graph === sha256(JSON.stringify(built.graph.nodes)).slice(0, 16);
  if (!same)
    throw new RunError(
      `${source.file} no longer builds the network ${dir} was trained as (the spec was edited since); restore the spec or train again`,
    );
  return { graph: built.graph };
}

/**
 * Measures a run's weights (its last checkpoint, or best.bin) on its validation split (the same
 * held-out examples training validated on) or its data's test set, which nothing else reads, and
 * records the number in the run folder's eval.json beside the earlier ones.
 */
export async function evaluateRun(
  dir: string,
  graph: IRGraph,
  o: { split: "val" | "test"; best: boolean },
): Promise<Evaluation> {
  const { identity } = runRecord(dir);
  const torch = identity.engine === "torch";
  const paths = runPaths(dir);
  const weights = o.best ? paths.best : paths.checkpoint;
  if (!existsSync(weights))
    throw new RunError(
      `${weights} does not exist${o.best ? " (best.bin is written when the run has validation data)" : ""}`,
    );
  const d = identity.data ?? {};
  const source = typeof d.source === "string" ? d.source : undefined;
  if (!source) throw new RunError(`${dir}: its manifest names no data source`);
  const adapt: InputAdaptation = {
    ...(d.adapt?.resize === true ? { resize: true } : {}),
    ...(d.adapt?.repeatChannels === true ? { repeatChannels: true } : {}),
  };
  const split: DataSplit = o.split;
  const valLimit = typeof d.valLimit === "number" ? d.valLimit : undefined;
  const data = await openDataset(source, {
    shape: graph.input as [number, number, number],
    classes: graph.nodes[graph.output]!.shape[0]!,
    split,
    seed: typeof identity.seed === "number" ? identity.seed : 0,
    valSplit: typeof d.valSplit === "number" ? d.valSplit : defaultValSplit,
    adapt,
    ...(split === "val" && valLimit ? { limit: valLimit } : {}),
  });
  const [{ buildModelFromIR }, { loadCheckpoint }, { evaluate }] = await Promise.all([
    import("../../backends/tfjs/model.js"),
    import("./checkpoint.js"),
    import("./loop.js"),
  ]);
  const model = buildModelFromIR(graph);
  try {
    if (torch) await torchWeightsInto(model, graph, dir, o.best);
    else await loadCheckpoint(weights, model);
    const last = graph.nodes[graph.output]!;
    const probabilities =
      (last.op === "dense" || last.op === "act") && last.attrs.activation === "softmax";
    const batch = typeof identity.train?.batch === "number" ? identity.train.batch : 32;
    // The run's eval_crop (its config is part of the identity): the crop it validated with.
    const crop = identity.train?.evalCrop;
    const view =
      typeof crop === "number" ? ({ kind: "centre", fraction: crop } as const) : undefined;
    const r = await evaluate(model, data, batch, probabilities, view);
    const e: Evaluation = {
      split: o.split,
      best: o.best,
      data: data.name,
      examples: data.size,
      loss: r.loss,
      accuracy: r.accuracy,
      weights,
      at: new Date().toISOString(),
    };
    recordEvaluation(dir, e);
    return e;
  } finally {
    model.dispose();
  }
}

/**
 * A torch-engine run's weights in the tfjs model: through the loader every command uses (its
 * checksums and shapes verified), then the naming contract that maps them between backends.
 */
async function torchWeightsInto(
  model: import("@tensorflow/tfjs").LayersModel,
  graph: IRGraph,
  dir: string,
  best: boolean,
): Promise<void> {
  const [{ loadWeights, WeightsError }, { weightsIntoTfjs }] = await Promise.all([
    import("../run/weights.js"),
    import("../../backends/onnx/intoTfjs.js"),
  ]);
  try {
    weightsIntoTfjs(model, graph, (await loadWeights(graph, dir, { best })).weights);
  } catch (e) {
    if (e instanceof WeightsError) throw new RunError(e.message);
    throw e;
  }
}

/** eval.json: the latest evaluation of each split and weights, rewritten whole (atomically). */
function recordEvaluation(dir: string, e: Evaluation): void {
  const path = runPaths(dir).evaluations;
  let earlier: Evaluation[] = [];
  if (existsSync(path)) {
    try {
      const parsed = JSON.parse(readFileSync(path, "utf8")) as { evaluations?: Evaluation[] };
      earlier = Array.isArray(parsed.evaluations) ? parsed.evaluations : [];
    } catch {
      // A damaged eval.json is replaced: it only ever holds what eval can measure again.
    }
  }
  const kept = earlier.filter((x) => !(x.split === e.split && x.best === e.best));
  atomicWrite(path, JSON.stringify({ evaluations: [...kept, e] }, null, 2) + "\n");
}
