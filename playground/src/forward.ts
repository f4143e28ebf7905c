import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import type { IRGraph } from "../../compiler/language/ir/types.js";
import { buildModelFromIR } from "../../compiler/backends/tfjs/model.js";

// This module is its own chunk: tfjs (about 1 MB) loads only when a forward pass is asked for.

export type BackendWanted = "auto" | "webgl" | "wasm" | "cpu";

export interface ForwardResult {
  /** The backend the passes ran on (tfjs' own answer after the runs). */
  readonly backend: string;
  /** Why faster backends were passed over, for `auto` (`webgl: ...`). */
  readonly passedOver: readonly string[];
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

/** Why a backend cannot run in this browser, before tfjs is asked to start it. */
function missing(name: BackendWanted): string | undefined {
  if (name !== "webgl") return undefined;
  const canvas = document.createElement("canvas");
  return canvas.getContext("webgl2") || canvas.getContext("webgl")
    ? undefined
    : "this browser gives no WebGL context (no GPU, or WebGL is turned off)";
}

/**
 * Starts the backend asked for; `auto` is WebGL where the browser has it, else wasm, else the
 * plain JavaScript one, and says why each faster one was passed over. WebGPU is noted, not
 * used: tfjs' WebGPU backend is not among this build's packages.
 */
async function startBackend(
  wanted: BackendWanted,
): Promise<{ backend: string; passedOver: string[] }> {
  if (!wasmReady) {
    // The wasm binaries sit beside the page (scripts/build-playground.mjs copies them).
    setWasmPaths(new URL("../wasm/", import.meta.url).href);
    wasmReady = true;
  }
  const passedOver: string[] = [];
  if (wanted === "auto")
    passedOver.push(
      "gpu" in navigator
        ? "webgpu: this browser has WebGPU, but this build has no tfjs WebGPU backend"
        : "webgpu: this browser has no WebGPU (navigator.gpu)",
    );
  const order: BackendWanted[] = wanted === "auto" ? ["webgl", "wasm", "cpu"] : [wanted];
  for (const name of order) {
    const why = missing(name);
    if (why) {
      passedOver.push(`${name}: ${why}`);
      continue;
    }
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return { backend: tf.getBackend(), passedOver };
      }
      passedOver.push(`${name}: tfjs could not start it`);
    } catch (e) {
      passedOver.push(`${name}: ${(e as Error).message}`);
    }
  }
  throw new Error(`no tfjs backend starts in this browser (${passedOver.join("; ")})`);
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
  const { backend, passedOver } = await startBackend(opts.backend);
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
  // What ran is what is reported: tfjs may not switch backends under a running model.
  if (tf.getBackend() !== backend)
    throw new Error(`the passes ran on ${tf.getBackend()}, not on ${backend} as started`);
  last = {
    backend,
    passedOver,
    batch,
    latencyMs: times[Math.floor(times.length / 2)]!,
    runs,
    output: r.first,
    model,
    input,
  };
  return last;
}
