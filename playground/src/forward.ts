import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import type { IRGraph } from "../../compiler/language/ir/types.js";
import { buildModelFromIR } from "../../compiler/backends/tfjs/model.js";

// This module is its own chunk: tfjs (about 1 MB) loads only when a forward pass is asked for.

export type BackendWanted = "auto" | "webgl" | "wasm" | "cpu";

export interface ForwardResult {
  readonly backend: string;
  readonly batch: number;
  /** Median of the timed runs, after one warm-up run. */
  readonly latencyMs: number;
  readonly runs: number;
  /** The first example's output. */
  readonly output: readonly number[];
  /** Kept for inspection (the browser test reads the weights and input from here). */
  readonly model: tf.LayersModel;
  readonly input: tf.Tensor;
}

let wasmReady = false;

/** Starts the backend asked for; `auto` is WebGL where the browser has it, else wasm. */
async function startBackend(wanted: BackendWanted): Promise<string> {
  if (!wasmReady) {
    // The wasm binaries sit beside the page (scripts/build-playground.mjs copies them).
    setWasmPaths(new URL("../wasm/", import.meta.url).href);
    wasmReady = true;
  }
  const order = wanted === "auto" ? ["webgl", "wasm", "cpu"] : [wanted];
  for (const name of order) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return tf.getBackend();
      }
    } catch {
      // Not available in this browser: the next one.
    }
  }
  throw new Error(`no tfjs backend among ${order.join(", ")} starts in this browser`);
}

let last: ForwardResult | undefined;

/**
 * Builds the network with tfjs (the same builder as `archc run`) and times forward passes on
 * seeded random input; grouped convolutions choose their strategy as they do on Node.
 */
export async function forwardPass(
  graph: IRGraph,
  opts: { backend: BackendWanted; batch?: number; runs?: number; seed?: number },
): Promise<ForwardResult> {
  const backend = await startBackend(opts.backend);
  const batch = opts.batch ?? 1;
  const runs = opts.runs ?? 5;
  if (last) {
    last.model.dispose();
    last.input.dispose();
    last = undefined;
  }
  const model = buildModelFromIR(graph);
  const input = tf.randomUniform([batch, ...graph.input], 0, 1, "float32", opts.seed ?? 1);
  const once = async () => {
    const t0 = performance.now();
    const y = model.predict(input) as tf.Tensor;
    const data = await y.data();
    const ms = performance.now() - t0;
    const first = Array.from(data.slice(0, data.length / batch));
    y.dispose();
    return { ms, first };
  };
  let r = await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    r = await once();
    times.push(r.ms);
  }
  times.sort((a, b) => a - b);
  last = {
    backend,
    batch,
    latencyMs: times[Math.floor(times.length / 2)]!,
    runs,
    output: r.first,
    model,
    input,
  };
  return last;
}
