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
): Promise<ActiveBackend | { exit: number }> {
  const runtime = await import("../backends/tfjs/runtime.js");
  try {
    const backend = await runtime.initBackend(choice, threads ? { threads } : {});
    if (!quiet) io.err(`backend: ${backend.label}`);
    return backend;
  } catch (e) {
    if (!(e instanceof runtime.BackendError)) throw e;
    io.err(`archc ${command}: ${e.message}`);
    return { exit: Exit.diagnostics };
  }
}
