// A worker thread of the shard loader: reads one sample's bytes from its shard and decodes it,
// so that decoding overlaps training on the main thread (compiler/lab/data/pool.ts).
import { parentPort } from "node:worker_threads";
import { decodeSample } from "./decode.js";
import { readAt } from "./locate.js";
import type { DecodeJob } from "./pool.js";

const port = parentPort!;
port.on("message", (job: DecodeJob) => {
  Promise.resolve()
    .then(() => decodeSample(readAt(job.path, job.offset, job.size), job.ext, job.shape, job.view))
    .then(
      (pixels) => port.postMessage({ id: job.id, pixels }, [pixels.buffer as ArrayBuffer]),
      (e: unknown) =>
        port.postMessage({ id: job.id, error: e instanceof Error ? e.message : String(e) }),
    );
});
