import type { InputAdaptation } from "../train/data/adapt.js";
import { adaptationFor } from "../train/data/adapt.js";
import {
  checkBatchSize,
  checkChannels,
  checkLimit,
  DataError,
  toBatch,
  type Batch,
  type Dataset,
  type EpochOptions,
} from "../train/data/dataset.js";
import { defaultValSplit, holdOut } from "../train/data/split.js";
import { sampleView } from "./augment.js";
import { imageExtCodes, locateSplit, type SampleTable } from "./locate.js";
import { DecodePool, type SampleSource } from "./pool.js";
import { Prefetcher, Slots, type Slot } from "./prefetch.js";
import { readShardIndex, ShardError, type ShardIndex } from "./shardIndex.js";

/** Which samples of which packed split a dataset delivers: what the torch engine streams too. */
export interface ShardSelection {
  readonly dir: string;
  /** The index's split, e.g. `train`. */
  readonly split: string;
  /** Positions in that split, in the order the dataset numbers its samples. */
  readonly indices: readonly number[];
}

export interface ShardDatasetOptions {
  readonly shape: readonly [number, number, number];
  readonly classes?: number;
  readonly split: "train" | "val" | "test";
  readonly limit?: number;
  /** Draws the validation hold-out where the pack has no `val` split. */
  readonly seed?: number;
  readonly valSplit?: number;
  readonly adapt?: InputAdaptation;
  /** Decoding threads (default: the cores but one, at most 8). */
  readonly threads?: number;
  /** Batches read and decoded ahead of the one training (default 3). */
  readonly prefetch?: number;
}

/** A batch of a pack decoded into its slot. */
interface Decoded {
  readonly slot: Slot;
  readonly labels: number[];
  readonly samples: number[];
}

/** A packed data set streamed from its shards: the selection it reads, beside the Dataset. */
export type ShardDataset = Dataset & {
  readonly shards: ShardSelection;
  /** Its decoding threads, prefetching and batch buffers (what tests look into). */
  readonly decoding: {
    readonly pool: DecodePool;
    readonly loader: Prefetcher<Decoded>;
    readonly slots: Slots;
  };
};

/** Whether a folder is a pack (`archc data pack` wrote an index.json there). */
export { indexFile } from "./shardIndex.js";

/**
 * Which samples a run's split takes from a pack: `train` and `val` are the pack's own where it has
 * a `val` split, else `train` less a seeded `valSplit` held out as `val` (the IDX sources' rule,
 * the same draw in both engines); `test` is the pack's `test`. --limit takes the first N (a pack
 * is shuffled once at packing, so they are a random subset with every class).
 */
export function selectSamples(
  dir: string,
  index: ShardIndex,
  o: Pick<ShardDatasetOptions, "split" | "limit" | "seed" | "valSplit">,
): { split: string; indices: number[] } {
  const has = (s: string) => index.splits[s] !== undefined;
  const all = (s: string) => Array.from({ length: index.splits[s]!.count }, (_, i) => i);
  let split: string;
  let indices: number[];
  if (o.split === "test") {
    if (!has("test")) throw new DataError("has no test split: this pack has no test set", dir);
    [split, indices] = ["test", all("test")];
  } else if (has("val")) [split, indices] = [o.split, all(o.split)];
  else {
    if (!has("train")) throw new DataError("has no train split", dir);
    const fraction = o.valSplit ?? defaultValSplit;
    if (o.split === "val" && fraction === 0)
      throw new DataError("--val-split 0 holds nothing out: there is no validation set", dir);
    const parts =
      fraction > 0
        ? holdOut(index.splits["train"]!.count, fraction, o.seed ?? 0)
        : { kept: all("train"), held: [] };
    [split, indices] = ["train", o.split === "train" ? parts.kept : parts.held];
  }
  if (o.limit !== undefined) indices = indices.slice(0, o.limit);
  if (indices.length === 0) throw new DataError(`has no samples for the ${o.split} split`, dir);
  return { split, indices };
}

/**
 * A packed data set as a Dataset: each epoch's order is the seeded permutation of its samples
 * (the same as every other source's), each sample read by one seek into its shard and decoded
 * in worker threads, `prefetch` batches ahead of training. Nothing is held but the sample table
 * and the batches in flight, so memory does not grow with the data set.
 */
export function openShardDataset(dir: string, o: ShardDatasetOptions): ShardDataset {
  checkLimit(o.limit);
  const shape: [number, number, number] = [...o.shape];
  checkChannels(shape, dir);
  let index: ShardIndex;
  try {
    index = readShardIndex(dir);
  } catch (e) {
    if (e instanceof ShardError) throw new DataError(e.message.slice(e.path.length + 2), e.path);
    throw e;
  }
  if (o.classes !== undefined && index.classes.length > o.classes)
    throw new DataError(
      `holds ${index.classes.length} classes, but the network has ${o.classes} outputs`,
      dir,
    );
  const adaptation = index.shape ? adaptationFor(dir, index.shape, shape, o.adapt) : [];
  const { split, indices } = selectSamples(dir, index, o);
  // The sample table (every shard's tar headers) and the decoding threads: made by warm(), or
  // by the first batch asked for where nothing warmed them.
  let table: SampleTable | undefined;
  const locate = () => (table ??= locateSplit(dir, index, split));
  const pool = DecodePool.shared(o.threads, false);
  const slots = new Slots();
  const classes = o.classes ?? index.classes.length;
  const px = shape[0] * shape[1] * shape[2];

  const decodeBatch = async (positions: number[], e: EpochOptions): Promise<Decoded> => {
    const table = locate();
    const slot = slots.take(positions.length * px * 4);
    const samples: SampleSource[] = positions.map((p) => {
      const i = indices[p]!;
      return {
        path: table.files[table.shard[i]!]!,
        at: { offset: table.offset[i]!, size: table.size[i]!, ext: imageExtCodes[table.ext[i]!]! },
        sample: p,
      };
    });
    const view = e.view && sampleView(e.view, e.seed, e.epoch);
    // Where a decoding thread dies this rejects, and the slot stays busy for good: the other
    // threads may still write into it.
    const failures = await pool.decodeBatch({
      samples,
      shape,
      ...(view ? { view } : {}),
      out: slot.memory,
    });
    const [j, why] = [...failures].sort((a, b) => a[0] - b[0])[0] ?? [];
    if (j !== undefined) {
      slot.busy = false;
      const i = indices[positions[j]!]!;
      throw new DataError(
        `sample ${String(i).padStart(9, "0")} cannot be decoded (${why})`,
        samples[j]!.path,
      );
    }
    return { slot, labels: positions.map((p) => table.label[indices[p]!]!), samples: positions };
  };
  const loader = new Prefetcher({
    size: indices.length,
    prefetch: Math.max(1, o.prefetch ?? 3),
    decode: decodeBatch,
  });

  return {
    name: `${dir} (${o.split})`,
    size: indices.length,
    classes,
    shape,
    classNames: index.classes,
    ...(adaptation.length ? { adaptation } : {}),
    seeks: true,
    views: true,
    shards: { dir, split, indices },
    decoding: { pool, loader, slots },
    warm() {
      pool.start();
      try {
        locate();
      } catch {
        // A damaged shard is reported where it is read, as before.
      }
    },
    async *batches(batchSize: number, e: EpochOptions): AsyncIterable<Batch> {
      checkBatchSize(batchSize);
      for await (const d of loader.epoch(batchSize, e)) {
        const x = new Float32Array(d.slot.memory, 0, d.samples.length * px);
        const b = toBatch(x, d.labels, shape, classes);
        d.slot.held = b.x;
        d.slot.busy = false;
        yield { ...b, samples: d.samples };
      }
    },
  };
}
