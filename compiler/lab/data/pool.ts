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
  /** Where the h*w*c floats go: float `at` of `out` onward (a batch's shared memory). */
  readonly out: SharedArrayBuffer;
  readonly at: number;
}

type Reply = { id: number } | { id: number; error: string };

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
 * Jobs a worker holds at once, decoding them concurrently: enough to keep libuv's pool (4
 * threads, where sharp runs) busy while samples wait on thread hand-offs, and no more, so that a
 * busy worker does not hoard samples an idle one could take (a batch waits for its slowest).
 */
const depth = 4;

interface Pending {
  readonly job: DecodeJob;
  readonly ok: () => void;
  readonly fail: (e: Error) => void;
}

/**
 * Worker threads that read and decode samples off the main thread, each straight into its slot
 * of a batch in shared memory. Samples are handed out in the order asked for, a few at a time to
 * the least loaded worker. Idle workers do not keep the process alive (unref'd while nothing is
 * pending), and `close()` ends them.
 */
export class DecodePool {
  private readonly workers: { thread: Worker; held: Map<number, Pending> }[] = [];
  private readonly queue: Pending[] = [];
  private next = 0;

  constructor(readonly threads = defaultDecodeThreads()) {}

  private start(): void {
    const thread = startWorker();
    const w = { thread, held: new Map<number, Pending>() };
    thread.on("message", (r: Reply) => this.reply(w, r));
    thread.on("error", (e) => this.failWorker(w, e));
    thread.unref();
    this.workers.push(w);
  }

  /** Hands queued jobs to workers with room, starting workers up to `threads` as needed. */
  private pump(): void {
    while (this.queue.length) {
      // The least loaded worker, or a new one while any is busy and there is room for it.
      let w = this.workers.reduce<(typeof this.workers)[number] | undefined>(
        (best, x) => (!best || x.held.size < best.held.size ? x : best),
        undefined,
      );
      if ((!w || w.held.size > 0) && this.workers.length < this.threads) {
        this.start();
        w = this.workers.at(-1);
      }
      if (!w || w.held.size >= depth) return;
      const p = this.queue.shift()!;
      if (w.held.size === 0) w.thread.ref();
      w.held.set(p.job.id, p);
      w.thread.postMessage(p.job);
    }
  }

  private reply(w: (typeof this.workers)[number], r: Reply): void {
    const p = w.held.get(r.id);
    if (!p) return;
    w.held.delete(r.id);
    if (w.held.size === 0) w.thread.unref();
    if ("error" in r) p.fail(new Error(r.error));
    else p.ok();
    this.pump();
  }

  /** A worker that died fails what it held, and leaves its place to a new one. */
  private failWorker(w: (typeof this.workers)[number], e: Error): void {
    const at = this.workers.indexOf(w);
    if (at >= 0) this.workers.splice(at, 1);
    for (const p of w.held.values()) p.fail(e);
    w.held.clear();
    this.pump();
  }

  /** Decodes a sample into floats `at`.. of `out`: h*w*c floats in [0, 1]. */
  decode(job: Omit<DecodeJob, "id">): Promise<void> {
    // No threads (--workers 0): on the calling thread, the same arithmetic into the same slot.
    if (this.threads === 0)
      return Promise.resolve().then(async () => {
        const [h, w, c] = job.shape;
        const out = new Float32Array(job.out, job.at * 4, h * w * c);
        const bytes = readAt(job.path, job.offset, job.size);
        await decodeSample(bytes, job.ext, job.shape, job.view, out);
      });
    return new Promise((ok, fail) => {
      this.queue.push({ job: { ...job, id: this.next++ }, ok, fail });
      this.pump();
    });
  }

  async close(): Promise<void> {
    const ws = this.workers.splice(0);
    const closed = new Error("the decoding threads were closed");
    for (const p of this.queue.splice(0)) p.fail(closed);
    for (const w of ws) for (const p of w.held.values()) p.fail(closed);
    await Promise.all(ws.map((w) => w.thread.terminate()));
  }
}
