// A worker thread of the shard loader: reads one sample's bytes from its shard and decodes it
// into its slot of the batch (shared memory), so that decoding overlaps training on the main
// thread (compiler/lab/data/pool.ts). The pool hands it a few samples at a time, decoded
// concurrently: each sample passes between this thread, libuv's and libvips's, and on a loaded
// machine one sample at a time would spend most of its time waiting for those hand-offs.
import { parentPort } from "node:worker_threads";
import sharp from "sharp";
import { decodeSample } from "./decode.js";
import { readAt } from "./locate.js";
import type { DecodeJob } from "./pool.js";

// Parallelism is the pool's threads: libvips's own threads on top of them would only contend
// for the same cores. Its operation cache would only hold pixels no sample reads twice.
sharp.concurrency(1);
sharp.cache(false);

const port = parentPort!;
port.on("message", (job: DecodeJob) => {
  Promise.resolve()
    .then(() => {
      const [h, w, c] = job.shape;
      const out = new Float32Array(job.out, job.at * 4, h * w * c);
      return decodeSample(
        readAt(job.path, job.offset, job.size),
        job.ext,
        job.shape,
        job.view,
        out,
      );
    })
    .then(
      () => port.postMessage({ id: job.id }),
      (e: unknown) =>
        port.postMessage({ id: job.id, error: e instanceof Error ? e.message : String(e) }),
    );
});
