// A worker thread of the data loader (compiler/lab/data/pool.ts): every worker is sent every
// batch, and claims its samples one at a time from the batch's shared counter while it has room,
// reading each one's bytes and decoding it into its slot of the batch (shared memory), so that
// decoding overlaps training on the main thread without the main thread handing out samples.
// A worker decodes a few samples at once: each passes between this thread, libuv's and
// libvips's, and on a loaded machine one at a time would spend most of its time waiting for
// those hand-offs.
import { parentPort } from "node:worker_threads";
import sharp from "sharp";
import { decodeSource } from "./decode.js";
import type { BatchMessage, BatchReport } from "./pool.js";

// Parallelism is the pool's threads: libvips's own threads on top of them would only contend
// for the same cores. Its operation cache would only hold pixels no sample reads twice.
sharp.concurrency(1);
sharp.cache(false);

/** Samples this worker decodes at once. */
const depth = 4;

interface Batch {
  readonly m: BatchMessage;
  readonly claim: Int32Array;
  readonly px: number;
  /** Claimed and finished, claimed and running. */
  done: number;
  running: number;
  exhausted: boolean;
  readonly errors: [number, string][];
}

const port = parentPort!;
const queue: Batch[] = [];
let active = 0;

function settle(b: Batch): void {
  if (!b.exhausted || b.running > 0) return;
  const r: BatchReport = { id: b.m.id, done: b.done, errors: b.errors };
  port.postMessage(r);
}

function pump(): void {
  while (active < depth && queue.length) {
    const b = queue[0]!;
    const j = Atomics.add(b.claim, 0, 1);
    if (j >= b.m.samples.length) {
      queue.shift();
      b.exhausted = true;
      settle(b);
      continue;
    }
    active++;
    b.running++;
    const out = new Float32Array(b.m.out, j * b.px * 4, b.px);
    Promise.resolve()
      .then(() => decodeSource(b.m.samples[j]!, b.m.shape, b.m.view, out))
      .catch((e: unknown) => {
        b.errors.push([j, e instanceof Error ? e.message : String(e)]);
      })
      .then(() => {
        active--;
        b.running--;
        b.done++;
        settle(b);
        pump();
      });
  }
}

port.on("message", (m: BatchMessage) => {
  const [h, w, c] = m.shape;
  const batch: Batch = {
    m,
    claim: new Int32Array(m.claim),
    px: h * w * c,
    done: 0,
    running: 0,
    exhausted: false,
    errors: [],
  };
  queue.push(batch);
  pump();
});
