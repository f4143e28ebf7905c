/**
 * `npm run bench -- data`: images/s of decode + resize + batch for archc's loaders against
 * torchvision's ImageFolder + DataLoader, with the same worker count, on the same JPEGs
 * (generated at ImageNet's typical 500x375, in class folders, and packed with `data pack`):
 *
 * - archc, embedded: the pack streamed by the embedded trainer's loader (worker threads);
 * - archc, torch: the pack streamed by the torch runner's loader (DataLoader workers, tarfile);
 * - torchvision: ImageFolder over the JPEG files, Resize((S, S)) + ToTensor, DataLoader.
 *
 * Each pass reads one epoch in a seeded shuffled order, in its own process. On a shared machine
 * one pass's figure says as much about the neighbours as about the loader, so the loaders take
 * turns, round after round (--rounds), at 1 and at 2 workers (or --workers=W alone), and the
 * bench prints each one's median images/s, the ratio to torchvision's, and its CPU time per image
 * (all its threads and worker processes): the cost the loader puts on the machine, which load
 * inflates far less than the wall clock. The load average is printed at the start and the end.
 * `--memory` also measures the loaders' peak memory on packs of 10k and 100k images (28x28, as
 * IDX data packs), which must not grow with the data set.
 *
 * Flags: --images=N (default 1000), --workers=W, --rounds=R (default 3), --size=S (default 224),
 * --batch=B (default 64), --memory.
 *
 * `--stall` trains mini_xception for one epoch on a pack of Fashion-MNIST (the first
 * --stall-images=N training images, default 6000) with each engine, and prints the share of the
 * epoch its steps spent waiting for the next batch (metrics.jsonl's dataWaitSeconds): the
 * question is whether the loader keeps the step busy, not how fast either is.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import * as tf from "@tensorflow/tfjs";
import { packShards } from "../compiler/lab/data/pack.js";
import { openShardDataset } from "../compiler/lab/data/shardDataset.js";
import { idxSource, imageFolderSource } from "../compiler/lab/data/sources.js";
import { packageRoot } from "../compiler/language/paths.js";
import { median } from "./timing.js";

const python = process.env["ARCHC_PYTHON"] ?? "/usr/bin/python3";
const script = join(packageRoot, "bench", "data_loaders.py");
const runnerDir = join(packageRoot, "compiler", "lab", "torch");
const cache = join(tmpdir(), "archc-bench-data");

interface Figure {
  readonly images: number;
  readonly seconds: number;
  /** CPU seconds of every thread and worker process during the pass. */
  readonly cpuSeconds: number;
  readonly maxRssKb: number;
  readonly workerMaxRssKb?: number;
}

/** `--name=N` (the bench runner takes every other word for a benchmark's name). */
function flag(name: string, fallback: number): number {
  const given = process.argv.find((a) => a.startsWith(`--${name}=`));
  const n = given ? Number(given.slice(name.length + 3)) : fallback;
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} takes a positive whole number`);
  return n;
}

/** A JPEG like a photo in size and entropy: smooth shapes, texture and a little noise. */
function photo(seed: number, w: number, h: number): Buffer {
  const px = Buffer.alloc(w * h * 3);
  let s = seed * 2654435761;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      s = (s * 1103515245 + 12345) >>> 0;
      const noise = (s >>> 24) % 24;
      for (let c = 0; c < 3; c++)
        px[(y * w + x) * 3 + c] =
          (128 +
            80 * Math.sin((x * (c + 1) + seed * 7) / 37) * Math.cos((y + seed * 3) / 23) +
            30 * Math.sin((x * y) / 900 + c) +
            noise) &
          255;
    }
  return px;
}

async function jpegFolder(n: number): Promise<string> {
  const dir = join(cache, `jpeg-${n}`);
  if (existsSync(join(dir, ".done"))) return dir;
  const classes = 10;
  for (let i = 0; i < n; i++) {
    const cls = join(dir, `class${i % classes}`);
    mkdirSync(cls, { recursive: true });
    await sharp(photo(i, 500, 375), { raw: { width: 500, height: 375, channels: 3 } })
      .jpeg({ quality: 90 })
      .toFile(join(cls, `${i}.jpg`));
  }
  writeFileSync(join(dir, ".done"), "");
  return dir;
}

async function packOf(name: string, open: () => Promise<Parameters<typeof packShards>[0]>) {
  const dir = join(cache, `${name}-pack`);
  if (!existsSync(join(dir, "index.json")))
    await packShards(await open(), name, dir, { shardBytes: 64 * 1024 * 1024, seed: 1 });
  return dir;
}

/** An IDX folder of n random 28x28 images: data that grows without growing the files' count. */
function idxFolder(n: number): string {
  const dir = join(cache, `idx-${n}`);
  if (existsSync(join(dir, ".done"))) return dir;
  mkdirSync(dir, { recursive: true });
  const write = (file: string, dims: number[], data: Uint8Array) => {
    const head = Buffer.alloc(4 + 4 * dims.length);
    head.writeUInt8(0x08, 2);
    head.writeUInt8(dims.length, 3);
    dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
    writeFileSync(join(dir, file), Buffer.concat([head, data]));
  };
  write(
    "train-images-idx3-ubyte",
    [n, 28, 28],
    new Uint8Array(n * 784).map((_, j) => (j * 131) % 251),
  );
  write(
    "train-labels-idx1-ubyte",
    [n],
    new Uint8Array(n).map((_, i) => i % 10),
  );
  writeFileSync(join(dir, ".done"), "");
  return dir;
}

/** One loader's pass, in a process of its own (so that its peak memory is its own). */
function measure(kind: "embedded" | "archc" | "torchvision", path: string, o: Opts): Figure {
  const args = [String(o.workers), String(o.batch), String(o.size)];
  const r =
    kind === "embedded"
      ? spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--child", path, ...args], {
          encoding: "utf8",
        })
      : spawnSync(python, [script, kind, path, ...args, runnerDir], { encoding: "utf8" });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as Figure;
  } catch {
    throw new Error(`the ${kind} loader failed:\n${r.stderr.slice(-2000)}`);
  }
}

interface Opts {
  readonly workers: number;
  readonly batch: number;
  readonly size: number;
}

/** The embedded trainer's loader over a pack, one epoch: what `--child` runs. */
async function embeddedPass(pack: string, o: Opts): Promise<Figure> {
  // Timed from the open, as torchvision's pass is from its DataLoader's start: the decoding
  // threads start (and load sharp) when the pack is opened and warmed.
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const data = openShardDataset(pack, {
    shape: [o.size, o.size, 3],
    split: "train",
    valSplit: 0,
    // The memory figures read gray IDX packs into the same 3-channel batches as the JPEGs.
    adapt: { resize: true, repeatChannels: true },
    threads: o.workers,
  });
  data.warm?.();
  let images = 0;
  // One epoch, the last: nothing is decoded for an epoch after it (as torchvision's pass).
  for await (const b of data.batches(o.batch, { seed: 1, epoch: 0, shuffle: true, final: true })) {
    images += b.x.shape[0];
    tf.dispose([b.x, b.y]);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    images,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    maxRssKb: process.resourceUsage().maxRSS,
  };
}

const rate = (f: Figure) => f.images / f.seconds;
const mb = (kb: number | undefined) => (kb === undefined ? "-" : `${(kb / 1024).toFixed(0)} MB`);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
const loaders = [
  ["torchvision", "torchvision ImageFolder + DataLoader"],
  ["archc", "archc, torch engine (pack, DataLoader)"],
  ["embedded", "archc, embedded (pack, worker threads)"],
] as const;

export async function runDataBench(): Promise<void> {
  const given = process.argv.some((a) => a.startsWith("--workers="));
  const workerCounts = given ? [flag("workers", 1)] : [1, 2];
  const rounds = flag("rounds", 3);
  const base = { batch: flag("batch", 64), size: flag("size", 224) };
  const n = flag("images", 1000);
  const folder = await jpegFolder(n);
  const pack = await packOf(`jpeg-${n}`, () => imageFolderSource(folder));
  console.log(
    `${n} JPEGs of 500x375 -> ${base.size}x${base.size}x3, batch ${base.batch}, ${rounds} rounds of each loader in turn; load average ${load()}`,
  );
  for (const workers of workerCounts) {
    const o = { ...base, workers };
    const figures = new Map<string, Figure[]>(loaders.map(([k]) => [k, []]));
    for (let r = 0; r < rounds; r++)
      for (const [kind] of loaders)
        figures.get(kind)!.push(measure(kind, kind === "torchvision" ? folder : pack, o));
    const tv = median(figures.get("torchvision")!.map(rate));
    console.log(`${workers} worker${workers > 1 ? "s" : ""}:`);
    for (const [kind, name] of loaders) {
      const fs = figures.get(kind)!;
      const r = median(fs.map(rate));
      const cpuMs = median(fs.map((f) => (1000 * f.cpuSeconds) / f.images));
      const peak = Math.max(...fs.map((f) => f.maxRssKb));
      const workerPeak = fs[0]!.workerMaxRssKb;
      console.log(
        `  ${name.padEnd(42)} ${r.toFixed(1).padStart(7)} images/s  x${(r / tv).toFixed(2)}  CPU ${cpuMs.toFixed(1).padStart(5)} ms/image  peak ${mb(peak)} (a worker ${mb(workerPeak)})  [${fs.map((f) => rate(f).toFixed(0)).join(" ")}]`,
      );
    }
  }
  console.log(`load average after: ${load()}`);
  if (process.argv.includes("--stall")) await stallPart(workerCounts.at(-1)!);
  if (!process.argv.includes("--memory")) return;
  for (const size of [10_000, 100_000]) {
    const p = await packOf(`idx-${size}`, () => idxSource(idxFolder(size)));
    const m = { ...base, workers: workerCounts.at(-1)!, size: 28 };
    const torch = measure("archc", p, m);
    const embedded = measure("embedded", p, m);
    console.log(
      `${String(size).padStart(7)} images 28x28: torch loader peak ${mb(torch.maxRssKb)} (a worker ${mb(torch.workerMaxRssKb)}), ${rate(torch).toFixed(0)} images/s; embedded loader peak ${mb(embedded.maxRssKb)}, ${rate(embedded).toFixed(0)} images/s`,
    );
  }
}

/** Each engine's share of a mini_xception epoch on packed Fashion-MNIST spent waiting for data. */
async function stallPart(workers: number): Promise<void> {
  const fashion = "/usr/share/datasets/fashion-mnist";
  if (!existsSync(fashion)) {
    console.log(`--stall needs Fashion-MNIST in ${fashion}: apt-get install dataset-fashion-mnist`);
    return;
  }
  const pack = await packOf("fashion-mnist", () => idxSource(fashion));
  const images = flag("stall-images", 6000);
  const cli = join(packageRoot, "bin", "archc.cjs");
  const spec = join(packageRoot, "specs", "mini_xception.arch");
  console.log(
    `mini_xception, 1 epoch of ${images} packed Fashion-MNIST images, batch 64, ${workers} threads; load average ${load()}`,
  );
  for (const engine of ["embedded", "torch"]) {
    const out = join(cache, `stall-${engine}`);
    const args = [cli, "train", spec, "--data", pack, "--limit", String(images), "--epochs", "1"];
    args.push("--batch", "64", "--threads", String(workers), "--out", out, "--fresh", "--quiet");
    if (engine === "torch") args.push("--engine", "torch");
    const r = spawnSync(process.execPath, args, { encoding: "utf8" });
    if (r.status !== 0) {
      console.log(`${engine}: archc train failed (${r.status}): ${r.stderr.trim().slice(-400)}`);
      continue;
    }
    const lines = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n");
    const m = JSON.parse(lines.at(-1)!) as { seconds: number; dataWaitSeconds?: number };
    const wait = m.dataWaitSeconds ?? Number.NaN;
    console.log(
      `${engine.padEnd(9)} epoch ${m.seconds.toFixed(1)} s, waiting for data ${wait.toFixed(2)} s (${((100 * wait) / m.seconds).toFixed(1)}%)`,
    );
  }
}

if (process.argv[2] === "--child") {
  const [pack, workers, batch, size] = process.argv.slice(3);
  const { initBackend } = await import("../compiler/backends/tfjs/runtime.js");
  await initBackend("cpu");
  const f = await embeddedPass(pack!, {
    workers: Number(workers),
    batch: Number(batch),
    size: Number(size),
  });
  console.log(JSON.stringify(f));
  process.exit(0);
}
