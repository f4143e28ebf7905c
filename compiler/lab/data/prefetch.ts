import * as tf from "@tensorflow/tfjs";
import type { EpochOptions } from "../train/data/dataset.js";
import { epochOrder } from "../train/data/random.js";

/**
 * A batch's memory, shared with the decoding threads. It is reused once the batch it held is
 * delivered and its tensor freed: a fresh buffer for every batch cost a page fault on each 4 kB
 * the workers first wrote (a quarter of the loader's CPU time, in the kernel zeroing pages), and
 * since every worker's isolate held a reference to each buffer until its own garbage collection,
 * buffers of batches long trained on piled up (about 750 MB after an epoch of 1000 images).
 */
export interface Slot {
  readonly memory: SharedArrayBuffer;
  /** Decoding into it, or delivered and not yet known to be free. */
  busy: boolean;
  /** The tensor made over it: the memory is free once the backend holds no data of it. */
  held?: tf.Tensor;
}

/** The batch buffers of one data set, reused rather than made anew for each batch. */
export class Slots {
  private readonly all: Slot[] = [];

  /** A free buffer of at least `bytes`, or a new one. */
  take(bytes: number): Slot {
    const slot = this.all.find((s) => !s.busy && s.memory.byteLength >= bytes && free(s));
    if (slot) {
      slot.busy = true;
      delete slot.held;
      return slot;
    }
    const made: Slot = { memory: new SharedArrayBuffer(bytes), busy: true };
    this.all.push(made);
    return made;
  }

  /** Batch buffers made so far (what memory tests count). */
  get count(): number {
    return this.all.length;
  }
}

/**
 * Whether the tensor over a slot's memory is gone: disposed, and no other tensor shares its
 * data (the CPU backend keeps the very array it was given, and a reshape shares it). Backends
 * that copy on creation (wasm) have freed it when the tensor is disposed.
 */
function free(s: Slot): boolean {
  if (!s.held) return true;
  if (!s.held.isDisposed) return false;
  try {
    return tf.backend().refCount(s.held.dataId) === 0;
  } catch {
    return true; // no backend any more: nothing can read it
  }
}

/** A batch decoded into its slot. */
export interface Decoded {
  readonly slot: Slot;
}

interface Ahead<D> {
  readonly key: string;
  readonly order: number[];
  next: number;
  readonly inFlight: Promise<D>[];
}

/**
 * An epoch's batches decoded `prefetch` ahead of the one delivered, and, once every batch of an
 * epoch is asked for, the next epoch's first batches (unless the epoch is `final`), so that the
 * first step of an epoch does not wait for its batch either. The next epoch's order is
 * (seed, epoch + 1)'s, a function of nothing else, so a batch decoded ahead is exactly the one
 * that epoch would have read; one asked for with other options (another seed or batch size, a
 * resumed epoch's `from`) is decoded anew.
 */
export class Prefetcher<D extends Decoded> {
  /**
   * Next epochs decoded ahead, by their options; two at most, so that a pass with other options
   * (precise BN's, with a seed of its own) does not drop the training's.
   */
  private readonly ahead = new Map<string, Ahead<D>>();

  constructor(
    private readonly o: {
      readonly size: number;
      readonly prefetch: number;
      /** Decodes the samples at `positions` of the data set, with the epoch's options. */
      readonly decode: (positions: number[], e: EpochOptions) => Promise<D>;
    },
  ) {}

  /** Batches of the next epoch asked for ahead (what tests of prefetching read). */
  get aheadCount(): number {
    let n = 0;
    for (const a of this.ahead.values()) n += a.next;
    return n;
  }

  async *epoch(batchSize: number, e: EpochOptions): AsyncGenerator<D> {
    const key = (epoch: number) =>
      JSON.stringify([batchSize, e.seed, epoch, e.shuffle, e.view ?? null]);
    const from = e.from ?? 0;
    let order: number[];
    let next: number;
    let inFlight: Promise<D>[];
    const adopted = from === 0 ? this.ahead.get(key(e.epoch)) : undefined;
    if (adopted) {
      this.ahead.delete(adopted.key);
      ({ order, next, inFlight } = adopted);
    } else {
      order = epochOrder(this.o.size, e.seed, e.epoch, e.shuffle);
      next = from;
      inFlight = [];
    }
    const count = Math.ceil(order.length / batchSize);
    const start = (o: number[], i: number, opts: EpochOptions) => {
      const p = this.o.decode(o.slice(i * batchSize, (i + 1) * batchSize), opts);
      // Awaited in turn below; handled here too in case the caller stops early.
      p.catch(() => undefined);
      return p;
    };
    const nextEpoch = { ...e, epoch: e.epoch + 1, from: 0 };
    const fill = () => {
      while (inFlight.length < this.o.prefetch && next < count)
        inFlight.push(start(order, next++, e));
      if (next < count || e.final) return;
      // Every batch of this epoch is asked for: the next epoch's first ones, in the room left.
      const k = key(e.epoch + 1);
      let a = this.ahead.get(k);
      if (!a) {
        const o = epochOrder(this.o.size, e.seed, e.epoch + 1, e.shuffle);
        this.ahead.set(k, (a = { key: k, order: o, next: 0, inFlight: [] }));
        for (const old of [...this.ahead.values()].slice(0, -2)) {
          this.ahead.delete(old.key);
          release(old.inFlight);
        }
      }
      const room = this.o.prefetch - inFlight.length - a.inFlight.length;
      const last = Math.ceil(a.order.length / batchSize);
      for (let i = 0; i < room && a.next < last; i++)
        a.inFlight.push(start(a.order, a.next++, nextEpoch));
    };
    try {
      fill();
      while (inFlight.length) {
        const ready = await inFlight.shift()!;
        fill();
        yield ready;
      }
    } finally {
      // Stopped early: the batches decoding for this epoch are nobody's.
      release(inFlight.splice(0));
    }
  }
}

/** Frees the slots of batches no one will take, once their decoding ends. */
function release<D extends Decoded>(ps: Promise<D>[]): void {
  for (const p of ps)
    p.then(
      (d) => {
        d.slot.busy = false;
      },
      () => undefined,
    );
}
