import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { emitTorch, torchClassName } from "../../backends/torch/emit.js";
import { packageRoot } from "../../language/paths.js";
import type { IRGraph } from "../../language/ir/types.js";
import type { Latency } from "../sweep/results.js";
import { findPython, TorchEngineError } from "./python.js";

/** The Python file that times the passes; it sits beside this module's source in the package. */
const latencyScript = join(packageRoot, "compiler", "lab", "torch", "latency.py");

export interface TorchLatencyOptions {
  readonly python?: string;
  /** torch.set_num_threads (default: torch's own choice). */
  readonly threads?: number;
  /** Time on the CPU even where CUDA is present. */
  readonly cpu?: boolean;
}

/**
 * Median, fastest and slowest of `runs` timed forward passes of the network's generated PyTorch
 * module at `batch`, after two untimed ones, as the tfjs timing does; `backend` names torch, its
 * version, the device and the threads.
 */
export async function measureTorchLatency(
  graph: IRGraph,
  batch: number,
  runs: number,
  opts: TorchLatencyOptions = {},
): Promise<Latency> {
  const py = findPython(opts.python);
  const work = mkdtempSync(join(tmpdir(), "archc-latency-"));
  try {
    const module = join(work, "model.py");
    writeFileSync(module, emitTorch(graph, { source: graph.network }));
    const job = join(work, "job.json");
    writeFileSync(
      job,
      JSON.stringify({
        module,
        class: torchClassName(graph.network),
        input: graph.input,
        batch,
        runs,
        warmup: 2,
        ...(opts.threads ? { threads: opts.threads } : {}),
        cpu: opts.cpu ?? false,
      }),
    );
    const out = await run(py.path, [latencyScript, job]);
    const t = JSON.parse(out) as {
      medianMs: number;
      minMs: number;
      maxMs: number;
      device: string;
      threads: number;
    };
    return {
      backend: `torch ${py.torch} (${t.device}, ${t.threads} thread${t.threads === 1 ? "" : "s"})`,
      batch,
      medianMs: t.medianMs,
      minMs: t.minMs,
      maxMs: t.maxMs,
      runs,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Standard output of a Python run, or TorchEngineError with the last lines it wrote. */
function run(python: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    // Its own process group: Ctrl-C reaches archc alone, which stops after this configuration.
    const child = spawn(python, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", (e) => reject(new TorchEngineError(`Python could not start: ${e.message}`)));
    child.on("close", (code) => {
      const last = out.trim().split("\n").pop() ?? "";
      if (code === 0 && last.startsWith("{")) return resolve(last);
      const tail = err.trim().split("\n").slice(-3).join(" | ");
      reject(
        new TorchEngineError(
          `timing the PyTorch module failed (Python exit status ${code}): ${tail || "no output"}`,
        ),
      );
    });
  });
}
