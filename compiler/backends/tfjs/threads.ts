import * as tf from "@tensorflow/tfjs";
import { createRequire } from "node:module";
import os from "node:os";
import { Worker as NodeWorker } from "node:worker_threads";
import { importModule } from "../../util/importModule.js";

// Why: tfjs-backend-wasm ships a threaded SIMD build, but in Node it never uses it
// (tfjs issue 3830). Three things stand in the way, and each is worked around here
// from the npm package alone:
//
// 1. Its WASM_HAS_MULTITHREAD_SUPPORT flag answers false whenever IS_NODE. We set
//    the flag ourselves after checking what it checks (SharedArrayBuffer, atomics).
// 2. It starts each pthread worker from a blob: URL holding the worker script, and
//    hands the worker the main glue as a Blob; Node's worker_threads accept neither.
//    The Emscripten glue creates its workers with the global `Worker`, which it sets
//    to worker_threads.Worker while the module starts. For that moment `Worker` is a
//    subclass that evaluates the package's own worker script
//    (wasm-out/*.worker.js, which has a Node branch) and points the worker at the
//    package's own glue file instead of the Blob. The glue makes all its workers
//    (a pool of 8) while it starts, so `Worker` is put back right after.
// 3. The C++ side caps the thread pool at emscripten_num_logical_cores() / 2, which
//    the glue answers with os.cpus().length: on a 2-core machine the cap is 1. While
//    the module starts, os.cpus() reports at least 2 x the wanted count.

const require = createRequire(import.meta.url);
const WASM_PKG = "@tensorflow/tfjs-backend-wasm";
/** The threaded build pre-creates this many workers; the C++ side caps threads at it. */
export const MAX_WASM_THREADS = 8;

/** The default thread count: every core this process may use. */
export function defaultThreadCount(): number {
  const fromEnv = Number(process.env["ARCHC_THREADS"]);
  if (Number.isInteger(fromEnv) && fromEnv >= 1) return fromEnv;
  return os.availableParallelism();
}

interface ThreadedFiles {
  workerScript: string;
  mainGlue: string;
}

/** Why threads cannot run here, or the package files they need. */
export function threadSupport(): ThreadedFiles | string {
  if (typeof SharedArrayBuffer === "undefined") return "SharedArrayBuffer is not available";
  if (typeof Atomics === "undefined" || typeof Atomics.wait !== "function")
    return "Atomics.wait is not available";
  try {
    // The same probe as tfjs' own flag: a module with shared memory and an atomic op.
    const probe = new Uint8Array([
      0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 4, 1, 3, 1, 1, 10, 11, 1, 9, 0,
      65, 0, 254, 16, 2, 0, 26, 11,
    ]);
    const wasmApi = (
      globalThis as unknown as { WebAssembly?: { validate(b: Uint8Array): boolean } }
    ).WebAssembly;
    if (!wasmApi?.validate(probe)) return "this WebAssembly engine has no threads";
    const workerFile = require.resolve(
      `${WASM_PKG}/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js`,
    );
    const mainGlue = require.resolve(`${WASM_PKG}/wasm-out/tfjs-backend-wasm-threaded-simd.js`);
    const contents = (require(workerFile) as { wasmWorkerContents?: unknown }).wasmWorkerContents;
    if (typeof contents !== "string") return `${workerFile} has no wasmWorkerContents`;
    // The script sits in a template literal there, so its "\n" escapes became newlines
    // inside string literals; tfjs escapes them again before making its blob.
    return { workerScript: contents.replace(/\n/g, "\\n"), mainGlue };
  } catch (e) {
    return `the threaded build of ${WASM_PKG} was not found (${e instanceof Error ? e.message : String(e)})`;
  }
}

function pthreadWorkerClass(files: ThreadedFiles): typeof NodeWorker {
  return class PthreadWorker extends NodeWorker {
    // The glue passes a blob: URL, which worker_threads cannot load; the script it
    // names is the package's worker script.
    constructor(_blobUrl: unknown) {
      super(files.workerScript, { eval: true });
    }
    // Emscripten refs a worker while its pthread runs, and XNNPACK's pool threads run
    // (waiting for work) for the life of the process, so Node would never exit. The
    // main thread waits for every computation it starts, so the pool never has to
    // keep the process alive: it is a daemon pool.
    override ref(): void {}

    override postMessage(message: unknown, transfer?: readonly never[]): void {
      const m = message as { cmd?: string; urlOrBlob?: unknown } | null;
      // "load" carries the main glue as a Blob of the bundled factory's source, which
      // refers to the bundler's names for fs and path; the package's own copy of the
      // same glue runs as is.
      if (m && m.cmd === "load" && typeof m.urlOrBlob !== "string") {
        message = { ...m, urlOrBlob: files.mainGlue };
      }
      super.postMessage(message, transfer);
    }
  };
}

/**
 * Runs `start` (which must initialise the wasm backend) with the threaded SIMD build
 * set up to use `threads` threads. Returns the thread count the backend reports.
 * Throws when the threaded build did not start; the caller then falls back.
 */
export async function withWasmThreads(
  threads: number,
  files: ThreadedFiles,
  start: () => Promise<void>,
): Promise<number> {
  const wasm = await importModule<typeof import("@tensorflow/tfjs-backend-wasm")>(WASM_PKG);
  const saved = Object.getOwnPropertyDescriptor(globalThis, "Worker");
  const realCpus = os.cpus;
  const Pthread = pthreadWorkerClass(files);
  Object.defineProperty(globalThis, "Worker", {
    configurable: true,
    get: () => Pthread,
    set: () => {}, // the glue assigns worker_threads.Worker here; keep ours
  });
  os.cpus = () => {
    const cpus = realCpus.call(os);
    while (cpus.length > 0 && cpus.length < 2 * threads) cpus.push(cpus[0]!);
    return cpus;
  };
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  wasm.setThreadsCount(threads);
  try {
    await start();
  } finally {
    os.cpus = realCpus;
    if (saved) Object.defineProperty(globalThis, "Worker", saved);
    else delete (globalThis as { Worker?: unknown }).Worker;
  }
  return wasm.getThreadsCount();
}

/** Makes the next wasm initialisation use the single-threaded SIMD build. */
export async function singleThreadedWasm(): Promise<void> {
  const wasm = await importModule<typeof import("@tensorflow/tfjs-backend-wasm")>(WASM_PKG);
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  wasm.setThreadsCount(1);
}
