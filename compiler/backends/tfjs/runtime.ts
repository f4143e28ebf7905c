import * as tf from "@tensorflow/tfjs";
import { initWasmBackend } from "./kernels/wasmInit.js";

import type { BackendChoice } from "./choices.js";
import { importModule } from "../../util/importModule.js";

export type { BackendChoice } from "./choices.js";

export interface ActiveBackend {
  /** tfjs' own name for it: tensorflow, wasm, cpu. */
  readonly name: string;
  /** What the user would call it, e.g. "tfjs-node-gpu (tensorflow)". */
  readonly label: string;
  /** Why faster ones were passed over, for `--backend auto`. */
  readonly skipped: readonly string[];
  /** Threads the wasm backend computes on; absent for the others (tfjs-node sizes its own pool). */
  readonly threads?: number;
}

export interface BackendOptions {
  /** Threads for the wasm backend (default: every core, or ARCHC_THREADS). */
  readonly threads?: number;
}

let active: ActiveBackend | undefined;

// tfjs-node and tfjs-node-gpu are optional: their install downloads libtensorflow, which fails
// where that network is closed. Each is tried at run time and skipped when it will not load.
async function tryNode(
  pkg: "@tensorflow/tfjs-node-gpu" | "@tensorflow/tfjs-node",
): Promise<string | undefined> {
  try {
    await importModule(pkg);
    if (!(await tf.setBackend("tensorflow"))) return `${pkg} loaded but its backend did not start`;
    await tf.ready();
    return undefined;
  } catch (e) {
    const msg = e instanceof Error ? e.message.split("\n")[0]! : String(e);
    return `${pkg} is not usable here (${msg.slice(0, 120)})`;
  }
}

/**
 * Starts a tfjs backend: with `auto`, tfjs-node-gpu, then tfjs-node, then the embedded wasm
 * backend. The pure-JS cpu backend only when asked for. Idempotent for the same choice.
 */
export async function initBackend(
  choice: BackendChoice = "auto",
  opts: BackendOptions = {},
): Promise<ActiveBackend> {
  if (active && (choice === "auto" || labelMatches(active, choice))) return active;
  const skipped: string[] = [];
  const order: BackendChoice[] = choice === "auto" ? ["node-gpu", "node", "wasm"] : [choice];
  for (const c of order) {
    if (c === "node-gpu" || c === "node") {
      const pkg = c === "node-gpu" ? "@tensorflow/tfjs-node-gpu" : "@tensorflow/tfjs-node";
      const why = await tryNode(pkg);
      if (!why)
        return (active = {
          name: tf.getBackend(),
          label: `${pkg.slice(12)} (${tf.getBackend()})`,
          skipped,
        });
      skipped.push(why);
      continue;
    }
    if (c === "wasm") {
      const wasm = await initWasmBackend(
        opts.threads === undefined ? {} : { threads: opts.threads },
      );
      const threads = `${wasm.threads} thread${wasm.threads === 1 ? "" : "s"}`;
      return (active = {
        name: "wasm",
        label: `wasm (tfjs-backend-wasm, ${threads}${wasm.note ? `; ${wasm.note}` : ""})`,
        skipped,
        threads: wasm.threads,
      });
    }
    await tf.setBackend("cpu");
    await tf.ready();
    return (active = { name: "cpu", label: "cpu (pure JavaScript)", skipped });
  }
  throw new BackendError(choice, skipped.join("; "));
}

function labelMatches(a: ActiveBackend, choice: BackendChoice): boolean {
  return (
    (choice === "wasm" && a.name === "wasm") ||
    (choice === "cpu" && a.name === "cpu") ||
    (choice === "node" && a.label.startsWith("tfjs-node ")) ||
    (choice === "node-gpu" && a.label.startsWith("tfjs-node-gpu"))
  );
}

/** A backend that was asked for by name and cannot run here. */
export class BackendError extends Error {
  constructor(
    readonly choice: BackendChoice,
    readonly reason: string,
  ) {
    super(`the ${choice} backend cannot run here: ${reason}`);
  }
}
