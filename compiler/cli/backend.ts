import { availableParallelism } from "node:os";
import type { BackendChoice } from "../backends/tfjs/choices.js";
import type { ActiveBackend } from "../backends/tfjs/runtime.js";
import { Exit, type IO } from "./io.js";

/**
 * Starts the tfjs backend a command asked for and says which one runs (unless `quiet`), as every
 * command that runs models must. A backend that cannot start (tfjs-node asked for but missing)
 * is the user's to fix: its message and exit 1, never an internal error.
 */
export async function startBackend(
  io: IO,
  command: string,
  choice: BackendChoice,
  threads: number | undefined,
  quiet: boolean,
  /** False where `threads` is another engine's (train --engine torch): no wasm warning then. */
  threadsAreWasm = true,
): Promise<ActiveBackend | { exit: number }> {
  const runtime = await import("../backends/tfjs/runtime.js");
  try {
    const backend = await runtime.initBackend(choice, threads ? { threads } : {});
    if (!quiet) io.err(`backend: ${backend.label}`);
    // The wasm backend's pool has a fixed size: more threads than that are not an error (the
    // count may come from a script written for another machine), but are said with the count used.
    const { MAX_WASM_THREADS } = await import("../backends/tfjs/threads.js");
    if (
      threadsAreWasm &&
      threads !== undefined &&
      threads > MAX_WASM_THREADS &&
      backend.threads !== undefined
    )
      io.err(
        `archc ${command}: warning: --threads ${threads} is more than the wasm backend runs (at most ${MAX_WASM_THREADS}); using ${backend.threads}`,
      );
    return backend;
  } catch (e) {
    if (!(e instanceof runtime.BackendError)) throw e;
    io.err(`archc ${command}: ${e.message}`);
    return { exit: Exit.diagnostics };
  }
}

/**
 * The torch engine's threads per process, at most this machine's cores. PyTorch starts every
 * thread it is asked for (`--threads 100000` started that many and stalled a 2-core machine for
 * minutes), so more than the cores is said, with the count used.
 */
export function torchThreads(io: IO, command: string, threads: number): number {
  const cores = availableParallelism();
  if (threads <= cores) return threads;
  io.err(
    `archc ${command}: warning: --threads ${threads} is more than this machine's ${cores} cores; the torch engine uses ${cores} per process`,
  );
  return cores;
}
