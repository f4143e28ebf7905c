import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { SampleView } from "./augment.js";
import { decodeSource, type SampleSource } from "./decode.js";

export type { SampleSource } from "./decode.js";

/** A batch to decode: its samples, the shape each becomes, and where their floats go. */
export interface BatchRequest {
  readonly samples: readonly SampleSource[];
  readonly shape: readonly [number, number, number];
  /** The crop each sample takes (augment.ts), keyed by its `sample` number. */
  readonly view?: SampleView;
  /** Sample j's h*w*c floats go to float j*h*w*c onward (memory the workers share). */
  readonly out: SharedArrayBuffer;
}

/** The samples of a batch that did not decode, by their place in it, with why. */
export type BatchFailures = ReadonlyMap<number, string>;

/**
 * What a worker is sent for a batch (every worker gets every batch): the request, and `claim`,
 * the shared counter of the batch's next unclaimed sample.
 */
export interface BatchMessage extends BatchRequest {
  readonly id: number;
  readonly claim: SharedArrayBuffer;
}

/** A worker's share of a batch, posted once it has nothing of it left to claim or to finish. */
export interface BatchReport {
  readonly id: number;
  /** Samples it claimed and finished (decoded or failed). */
  readonly done: number;
  readonly errors: readonly (readonly [number, string])[];
}

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

interface Pending {
  readonly size: number;
  done: number;
  readonly failures: Map<number, string>;
  readonly ok: (f: BatchFailures) => void;
  readonly fail: (e: Error) => void;
}

/** The pools in this process, by thread count: every data set (train, val, a sweep's rows) shares them. */
const pools = new Map<number, DecodePool>();

/**
 * Worker threads that read and decode batches off the main thread, each sample straight into
 * its slot of the batch's shared memory. A batch is posted once to every worker, and the workers
 * claim its samples from a shared counter (Atomics) as they have room: the main thread takes no
 * part per sample, so a long training step (synchronous on the main thread) does not stall
 * decoding, as it did when each finished sample had to reach the main thread before the worker
 * got the next. Each worker reports its share of a batch once; the batch is done when the shares
 * add up to its size. Idle workers do not keep the process alive (unref'd while no batch is
 * pending).
 */
export class DecodePool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private next = 0;
  /** Batches asked for since the pool was made (what tests of prefetching count). */
  requested = 0;

  constructor(readonly threads = defaultDecodeThreads()) {}

  /** The process's pool of `threads` threads; its workers start now unless `start` is false. */
  static shared(threads = defaultDecodeThreads(), start = true): DecodePool {
    let pool = pools.get(threads);
    if (!pool) pools.set(threads, (pool = new DecodePool(threads)));
    if (start) pool.start();
    return pool;
  }

  /** Workers running now. */
  get started(): number {
    return this.workers.length;
  }

  /**
   * Starts the workers now, so that their start (a thread, its module graph, sharp and libvips)
   * overlaps whatever comes before the first batch rather than delaying it. Idempotent.
   */
  start(): void {
    while (this.workers.length < this.threads) this.spawn();
  }

  private spawn(): void {
    const thread = startWorker();
    thread.on("message", (r: BatchReport) => this.report(r));
    thread.on("error", (e) => this.lose(thread, e));
    thread.on("exit", (code) =>
      this.lose(thread, new Error(`a decoding thread stopped (exit code ${code})`)),
    );
    if (this.pending.size === 0) thread.unref();
    this.workers.push(thread);
  }

  private report(r: BatchReport): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    p.done += r.done;
    for (const [j, e] of r.errors) p.failures.set(j, e);
    if (p.done < p.size) return;
    this.pending.delete(r.id);
    if (this.pending.size === 0) for (const w of this.workers) w.unref();
    p.ok(p.failures);
  }

  /**
   * A worker that died may have claimed samples it will never finish: every batch in flight
   * fails, and the next batch starts a new worker in its place.
   */
  private lose(thread: Worker, e: Error): void {
    const at = this.workers.indexOf(thread);
    if (at < 0) return;
    this.workers.splice(at, 1);
    const lost = [...this.pending.values()];
    this.pending.clear();
    for (const p of lost) p.fail(e);
  }

  /**
   * Decodes a batch into `out`; resolves with the samples that failed (none: an empty map).
   * Rejects only when a worker dies.
   */
  decodeBatch(b: BatchRequest): Promise<BatchFailures> {
    this.requested++;
    const [h, w, c] = b.shape;
    const px = h * w * c;
    if (b.out.byteLength < b.samples.length * px * 4)
      throw new RangeError(`${b.out.byteLength} bytes cannot hold ${b.samples.length} samples`);
    // No threads (--workers 0): on the calling thread, one sample at a time, into the same slots.
    if (this.threads === 0) return onThisThread(b, px);
    if (b.samples.length === 0) return Promise.resolve(new Map());
    this.start();
    const id = this.next++;
    return new Promise((ok, fail) => {
      if (this.pending.size === 0) for (const w of this.workers) w.ref();
      this.pending.set(id, { size: b.samples.length, done: 0, failures: new Map(), ok, fail });
      const message: BatchMessage = { ...b, id, claim: new SharedArrayBuffer(4) };
      for (const w of this.workers) w.postMessage(message);
    });
  }

  /** Ends the workers; batches in flight fail. */
  async close(): Promise<void> {
    const ws = this.workers.splice(0);
    const lost = [...this.pending.values()];
    this.pending.clear();
    const closed = new Error("the decoding threads were closed");
    for (const p of lost) p.fail(closed);
    for (const [n, p] of pools) if (p === this) pools.delete(n);
    await Promise.all(ws.map((w) => w.terminate()));
  }
}

async function onThisThread(b: BatchRequest, px: number): Promise<BatchFailures> {
  const failures = new Map<number, string>();
  for (const [j, s] of b.samples.entries()) {
    const out = new Float32Array(b.out, j * px * 4, px);
    try {
      await decodeSource(s, b.shape, b.view, out);
    } catch (e) {
      failures.set(j, e instanceof Error ? e.message : String(e));
    }
  }
  return failures;
}
