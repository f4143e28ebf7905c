import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { SampleView } from "./augment.js";
import { decodeSample } from "./decode.js";
import { readAt } from "./locate.js";
import type { ImageExt } from "./sources.js";

/** One sample to read and decode: where its bytes lie and the shape the network takes. */
export interface DecodeJob {
  readonly id: number;
  readonly path: string;
  readonly offset: number;
  readonly size: number;
  readonly ext: ImageExt;
  readonly shape: readonly [number, number, number];
  /** The crop to take (augment.ts), and the sample's number its training draws are keyed by. */
  readonly view?: { readonly view: SampleView; readonly sample: number };
}

type Reply = { id: number; pixels: Float32Array } | { id: number; error: string };

/**
 * The worker's script beside this module: the bundled CLI's chunk lies next to
 * dist/cli/decodeWorker.js, tsc's output next to its own. Run from the TypeScript sources (the
 * tests), the worker loads them through tsx, which the worker thread must register itself.
 */
function startWorker(): Worker {
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return new Worker(new URL("./decodeWorker.js", here));
  const script = new URL("./decodeWorker.ts", here).href;
  const code = `import("tsx/esm/api").then((tsx) => tsx.tsImport(${JSON.stringify(script)}, ${JSON.stringify(here)}))`;
  return new Worker(code, { eval: true });
}

/** Worker threads a loader uses by default: the cores but one (the training step's), at most 8. */
export function defaultDecodeThreads(): number {
  return Math.max(1, Math.min(8, availableParallelism() - 1));
}

/**
 * Worker threads that read and decode samples off the main thread. Idle workers do not keep the
 * process alive (unref'd while nothing is pending), and `close()` ends them.
 */
export class DecodePool {
  private readonly workers: Worker[] = [];
  private readonly load: number[] = [];
  private readonly waiting = new Map<
    number,
    { worker: number; ok: (p: Float32Array) => void; fail: (e: Error) => void }
  >();
  private next = 0;

  constructor(readonly threads = defaultDecodeThreads()) {}

  private worker(): number {
    if (this.workers.length < this.threads) {
      const w = startWorker();
      const at = this.workers.length;
      w.on("message", (r: Reply) => this.reply(r));
      w.on("error", (e) => this.failWorker(at, e));
      w.unref();
      this.workers.push(w);
      this.load.push(0);
      return at;
    }
    let best = 0;
    for (let i = 1; i < this.load.length; i++) if (this.load[i]! < this.load[best]!) best = i;
    return best;
  }

  private reply(r: Reply): void {
    const w = this.waiting.get(r.id);
    if (!w) return;
    this.waiting.delete(r.id);
    if (--this.load[w.worker]! === 0) this.workers[w.worker]!.unref();
    if ("error" in r) w.fail(new Error(r.error));
    else w.ok(r.pixels);
  }

  private failWorker(at: number, e: Error): void {
    for (const [id, w] of this.waiting)
      if (w.worker === at) {
        this.waiting.delete(id);
        w.fail(e);
      }
  }

  /** The sample's pixels, h*w*c floats in [0, 1]. */
  decode(job: Omit<DecodeJob, "id">): Promise<Float32Array> {
    // No threads (--workers 0): on the calling thread, the same arithmetic.
    if (this.threads === 0)
      return Promise.resolve().then(() =>
        decodeSample(readAt(job.path, job.offset, job.size), job.ext, job.shape, job.view),
      );
    const id = this.next++;
    const at = this.worker();
    if (this.load[at]!++ === 0) this.workers[at]!.ref();
    return new Promise((ok, fail) => {
      this.waiting.set(id, { worker: at, ok, fail });
      this.workers[at]!.postMessage({ ...job, id });
    });
  }

  async close(): Promise<void> {
    const ws = this.workers.splice(0);
    this.load.splice(0);
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
