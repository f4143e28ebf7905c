import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { getThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import {
  defaultThreadCount,
  MAX_WASM_THREADS,
  singleThreadedWasm,
  threadSupport,
  withWasmThreads,
} from "../threads.js";
import { setBackendThreads } from "./pool.js";
import { registerWasmTrainingKernels } from "./register.js";
import { enableRelaxedSimd } from "./simd.js";

export interface WasmStart {
  /** Threads the backend's XNNPACK pool runs on (1 = the single-threaded SIMD build). */
  readonly threads: number;
  /** Why fewer threads than asked for, when that happened. */
  readonly note?: string;
}

let started: WasmStart | undefined;

/**
 * Makes 'wasm' the active tfjs backend, with the training kernels it lacks, on
 * `threads` threads (default: every core, or ARCHC_THREADS). More than one thread
 * uses the package's threaded SIMD build under worker_threads (see ../threads.ts);
 * where that cannot run, the single-threaded build with a note saying why. The
 * thread count is fixed once the backend has started in this process: later calls
 * report the count in use. In Node the wasm backend finds its .wasm binaries next to
 * its own dist files, so no setWasmPaths call is needed.
 */
export async function initWasmBackend(opts: { threads?: number } = {}): Promise<WasmStart> {
  // Before any of archc's modules is built: their fused multiply-adds need it on Node 20.
  enableRelaxedSimd();
  registerWasmTrainingKernels();
  if (started && tf.findBackend("wasm")) {
    if (!(await tf.setBackend("wasm")))
      throw new Error("tfjs: could not initialise the wasm backend");
    return started;
  }
  const wanted = Math.min(MAX_WASM_THREADS, Math.max(1, opts.threads ?? defaultThreadCount()));
  const start = async () => {
    if (!(await tf.setBackend("wasm")))
      throw new Error("tfjs: could not initialise the wasm backend");
    await tf.ready();
  };
  let note: string | undefined;
  if (wanted > 1) {
    const files = threadSupport();
    if (typeof files === "string") note = `one thread: ${files}`;
    else {
      try {
        const threads = await withWasmThreads(wanted, files, start);
        setBackendThreads(threads); // archc's kernel pool runs on as many (pool.ts)
        return (started = threads === wanted ? { threads } : { threads, note: `asked ${wanted}` });
      } catch (e) {
        note = `one thread: the threaded build did not start (${e instanceof Error ? e.message : String(e)})`;
      }
    }
  }
  await singleThreadedWasm();
  await start();
  setBackendThreads(1);
  return (started = { threads: getThreadsCount(), ...(note ? { note } : {}) });
}
