import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { kernelThreads } from "../kernels/pool.js";
import { type ConvShape, convGeometry, groupedMacs, shapeKey } from "./geometry.js";
import {
  STRATEGIES,
  STRATEGY_NAMES,
  denseInferenceConv,
  denseInferenceKernel,
  type StrategyName,
  applicableStrategies,
  isStrategyName,
} from "./strategies.js";

/**
 * Picks a grouped-convolution strategy per layer shape. The ranking of strategies
 * is backend-specific and far from proportional to MACs (in wasm a channel slice
 * is a JS loop and a batched matMul a scalar C++ loop, while a multiplier-1
 * depthwise conv is a tuned XNNPACK kernel), so the answer comes from timing the
 * candidates on the active backend once per shape, cached on disk. An analytic
 * prior prunes hopeless candidates before timing and stands in when timing is off.
 */

export type StrategyChoice = StrategyName | "auto";

/**
 * What a choice is for. Training adds the backward pass, whose cost ranks the
 * strategies differently: on wasm the gradients of the depthwise-based ones are
 * composites (compiler/backends/tfjs/kernels) far slower than their forward op.
 */
export type Mode = "forward" | "train";

export interface PriorOptions {
  /** Defaults to the active backend. */
  backend?: string;
  mode?: Mode;
  /** Strategies never chosen, as if they did not apply (e.g. to compare without one). */
  exclude?: readonly StrategyName[];
}

/** The strategies that apply to a shape and are not excluded. */
function allowedStrategies(s: ConvShape, exclude: readonly StrategyName[] = []): StrategyName[] {
  return applicableStrategies(s).filter((n) => !exclude.includes(n));
}

export const STRATEGY_ENV = "ARCHC_GROUPED_STRATEGY";
export const CACHE_DIR_ENV = "ARCHC_CACHE_DIR";
export const CACHE_FILE = "grouped-conv.json";
/**
 * Bumped when strategies change enough that old timings no longer rank them (2: wasm Slice,
 * Unpack and batch norm got their own kernels, which made `split` several times cheaper;
 * 3: the `native` kernel, which earlier timings never measured; 4: a regular conv2d's filter
 * gradient with >= 100 output pixels takes the native tiles, so `split`'s training step, one
 * such conv2d per group, got cheaper than the timings cached before had it; 5: `dense`, which
 * the earlier timings never measured, and whose forward time is now the conv alone; 6: the native
 * tiles multiply-add with relaxed SIMD's FMA where the engine has it, 0.8-0.96x their CPU time;
 * 7: stride-1 3x3 convs with ci x co >= 2048, `split`'s per-group and `dense`'s, run as Winograd
 * F(2x2, 3x3), 0.4-0.9x XNNPACK's CPU time, kernels/winograd.ts; 8: a timing is the least of
 * interleaved runs, CPU time on one thread, where it was the median of consecutive wall-clock
 * runs; and the prior's pick stands within LEAVE_PRIOR_MARGIN; 9: 1x1 stride-1 convs from 64
 * input channels run on archc's own GEMM, 0.62-1.0x XNNPACK's CPU time, and Winograd above one
 * thread from 64 x 64 channels where it ran from 512 x 512, kernels/pointwiseForward.ts).
 */
const CACHE_VERSION = 9;

export interface ChooseOptions {
  /** An explicit strategy wins over everything; "auto" (the default) defers. */
  strategy?: StrategyChoice;
  /** Time the candidates when the cache has no answer (default true). */
  calibrate?: boolean;
  /** Overrides ARCHC_CACHE_DIR and the .archc-cache default. */
  cacheDir?: string;
  /** Untimed runs before timing each candidate (default 1). */
  warmup?: number;
  /** Timed runs per candidate; the median is kept (default 3). */
  runs?: number;
  /** Time only candidates whose prior estimate is within this factor of the best (default 3). */
  pruneFactor?: number;
  /** Rank by forward time (default) or by forward plus backward. */
  mode?: Mode;
  /** Strategies never chosen (an explicit strategy is still honoured). */
  exclude?: readonly StrategyName[];
}

export type ChoiceSource = "option" | "env" | "memory" | "cache" | "measured" | "prior";

export interface Choice {
  strategy: StrategyName;
  source: ChoiceSource;
  /** Median milliseconds per timed candidate, when they were measured. */
  timesMs?: Partial<Record<StrategyName, number>>;
}

/**
 * Rough per-backend speeds behind the prior, in elements or MACs per millisecond.
 * The wasm row is fitted to bench/continuum.ts (3x3 convolutions on 19x19x728,
 * batch 8); other backends get a flat row that only prefers less work and fewer
 * ops, and rely on calibration for the rest.
 */
interface Speeds {
  /** conv2d, and matMul with a single batch. */
  gemm: number;
  /** depthwiseConv2d with multiplier 1. */
  dwconv: number;
  /** depthwiseConv2d with a multiplier: a grouped GEMM that pads go up to `tile`. */
  grouped: number;
  tile: number;
  /** matMul batched over more than one matrix. */
  batchedGemm: number;
  /** Contiguous copies done in native code: pads, transposes, reductions. */
  copy: number;
  /** Fixed cost of one op. */
  opMs: number;
  /** Fixed cost of one conv2d call (wasm: creating the XNNPACK operator). */
  convMs: number;
  /** Cost per row of a slice that is not contiguous (wasm: a JS loop over rows). */
  sliceRowMs: number;
  /** archc's grouped convolution kernel (`native`), MACs per millisecond. */
  native: number;
  /** A training step's time over the forward time, per strategy. */
  train: (name: StrategyName, groups: number, groupIn: number) => number;
}

const SPEEDS: Record<string, Speeds> = {
  wasm: {
    gemm: 13e6,
    dwconv: 3.5e6,
    grouped: 8e6,
    tile: 16,
    batchedGemm: 1e6,
    copy: 1.5e6,
    opMs: 0.1,
    convMs: 2.5,
    sliceRowMs: 1e-4,
    native: 8e6,
    // The interleave filter gradient is a depthwise conv whose filter is the whole
    // output over the width-folded input, so it grows with the folded channels. The
    // matMul gradients transpose an operand, which leaves XNNPACK for the scalar
    // loop even with one group.
    train: (name, g, gi) => {
      if (name === "interleave") return Math.max(6, 9 * gi);
      if (name === "taps" || name === "im2col") return g === 1 ? 40 : 4;
      // Its input gradient is its forward pass again, its filter gradient about as long.
      if (name === "native") return 4;
      return { split: 10, blockdiag: 10, dense: 10, depthwise: 15, channelwise: 16 }[name];
    },
  },
  default: {
    gemm: 1e6,
    dwconv: 1e6,
    grouped: 1e6,
    tile: 1,
    batchedGemm: 1e6,
    copy: 2e6,
    opMs: 0.05,
    convMs: 0.05,
    sliceRowMs: 0,
    native: 1e6,
    train: () => 3,
  },
};

function speedsFor(backend: string): Speeds {
  return SPEEDS[backend] ?? SPEEDS.default!;
}

/**
 * Estimated milliseconds of one forward call, or of a forward and backward pass.
 * Only the ranking matters: it decides the prior's pick and which candidates are
 * worth timing.
 */
export function estimateMs(name: StrategyName, s: ConvShape, opts: PriorOptions = {}): number {
  const sp = speedsFor(opts.backend ?? tf.getBackend());
  const forward = forwardMs(name, s, sp);
  return opts.mode === "train"
    ? forward * sp.train(name, s.groups, s.inChannels / s.groups)
    : forward;
}

function forwardMs(name: StrategyName, s: ConvShape, sp: Speeds): number {
  const geo = convGeometry(s);
  const g = s.groups;
  const gi = s.inChannels / g;
  const go = s.outChannels / g;
  const m = s.batch * geo.outHeight * geo.outWidth;
  const taps = s.kernelHeight * s.kernelWidth;
  // Conv-based strategies run the zero-spread kernel when dilated.
  const spread =
    ((s.kernelHeight - 1) * s.dilation[0] + 1) * ((s.kernelWidth - 1) * s.dilation[1] + 1);
  const macs = groupedMacs(s);
  const spreadMacs = (macs / taps) * spread;
  const input = s.batch * s.inHeight * s.inWidth * s.inChannels;
  const output = m * s.outChannels;
  const copy = (elements: number) => elements / sp.copy;
  const groupedWaste = (Math.ceil(go / sp.tile) * sp.tile) / go;
  switch (name) {
    case "split":
      if (g === 1) return spreadMacs / sp.gemm + sp.convMs;
      return spreadMacs / sp.gemm + g * (sp.convMs + 2 * sp.opMs) + copy(2 * input + 2 * output);
    case "blockdiag":
      return (spreadMacs * g) / sp.gemm + sp.convMs + copy(spread * s.inChannels * s.outChannels);
    case "dense":
      // The expansion is made once for inference (and is small beside a training step's convs).
      return (spreadMacs * g) / sp.gemm + sp.convMs;
    case "depthwise":
      if (go === 1) return spreadMacs / sp.dwconv;
      return (
        (spreadMacs * groupedWaste) / sp.grouped + (gi > 1 ? copy(2 * m * s.inChannels * go) : 0)
      );
    case "channelwise":
      return (
        go * ((spread * m * s.inChannels) / sp.dwconv + sp.opMs) +
        (gi > 1 ? go * copy(m * s.inChannels) : 0) +
        (go > 1 ? copy(2 * output) : 0)
      );
    case "interleave": {
      const work = go === 1 ? spreadMacs / sp.dwconv : (spreadMacs * groupedWaste) / sp.grouped;
      return work + copy(gi > 1 ? 2 * input : input);
    }
    case "native":
      // One launch; the zero-padded copy of the input is the only extra pass over memory.
      return macs / sp.native + sp.opMs + copy(input);
    case "taps":
    case "im2col": {
      const rate = g === 1 ? sp.gemm : sp.batchedGemm;
      // Each tap window is a strided slice: one row copy per output pixel and group.
      const windows = taps * g * m * sp.sliceRowMs + copy(2 * input + taps * m * s.inChannels);
      const ops = (name === "taps" ? 3 * taps : taps + 2) * sp.opMs;
      return macs / rate + windows + ops + copy(2 * output);
    }
  }
}

/**
 * The pick without measuring: the two ends of the continuum have native ops, and
 * the middle goes to the cheapest estimate.
 */
export function priorStrategy(s: ConvShape, opts: PriorOptions = {}): StrategyName {
  const allowed = (n: StrategyName) => !opts.exclude?.includes(n);
  // one group: split is a single plain conv2d
  if (s.groups === 1 && allowed("split")) return "split";
  // a native depthwiseConv2d, no sum
  if (s.groups === s.inChannels && allowed("depthwise")) return "depthwise";
  return rankByPrior(s, opts)[0]!.name;
}

function rankByPrior(s: ConvShape, opts: PriorOptions): { name: StrategyName; ms: number }[] {
  return allowedStrategies(s, opts.exclude)
    .map((name) => ({ name, ms: estimateMs(name, s, opts) }))
    .sort((a, b) => a.ms - b.ms);
}

/** The candidates worth timing: applicable and not hopeless by the prior. */
export function candidateStrategies(
  s: ConvShape,
  opts: PriorOptions & { pruneFactor?: number } = {},
): StrategyName[] {
  // With one group blockdiag and dense are the very same conv2d as split.
  const ranked = rankByPrior(s, opts).filter(
    (r) => s.groups > 1 || (r.name !== "blockdiag" && r.name !== "dense"),
  );
  const best = ranked[0]!.ms;
  const kept = ranked
    .filter(
      (r) =>
        r.ms <= best * (opts.pruneFactor ?? 3) ||
        // The regular conv's speed is the floor a grouped layer must not fall below: at the
        // continuum's low end it is always timed, whatever the prior thinks of its MACs.
        (r.name === "dense" && s.groups <= DENSE_ALWAYS_TIMED_GROUPS),
    )
    .map((r) => r.name);
  const prior = priorStrategy(s, opts);
  return kept.includes(prior) ? kept : [prior, ...kept];
}

/**
 * Up to this many groups `dense` is timed even where the prior would prune it: its work is
 * groups times the grouped MACs, so beyond this it cannot pay, and timing it costs that much.
 */
const DENSE_ALWAYS_TIMED_GROUPS = 16;

export function parseStrategy(value: string, where: string): StrategyChoice {
  if (value === "auto" || isStrategyName(value)) return value;
  throw new Error(
    `${where}: unknown grouped conv strategy '${value}'; valid: auto, ${STRATEGY_NAMES.join(", ")}`,
  );
}

function envStrategy(): StrategyName | undefined {
  const raw = process.env[STRATEGY_ENV];
  if (raw === undefined || raw === "") return undefined;
  const v = parseStrategy(raw, STRATEGY_ENV);
  return v === "auto" ? undefined : v;
}

export function cacheDirectory(override?: string): string {
  return override ?? process.env[CACHE_DIR_ENV] ?? path.join(process.cwd(), ".archc-cache");
}

interface CacheEntry {
  strategy: StrategyName;
  timesMs: Partial<Record<StrategyName, number>>;
}

interface CacheFile {
  version: number;
  backends: Record<string, Record<string, CacheEntry>>;
}

function emptyCache(): CacheFile {
  return { version: CACHE_VERSION, backends: {} };
}

function readCache(file: string): CacheFile {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return emptyCache();
  }
  try {
    const parsed = JSON.parse(text) as Partial<CacheFile>;
    if (parsed.version !== CACHE_VERSION || typeof parsed.backends !== "object" || !parsed.backends)
      return emptyCache();
    return { version: CACHE_VERSION, backends: parsed.backends };
  } catch {
    // A corrupt cache only costs a re-measurement.
    return emptyCache();
  }
}

/**
 * Read-merge-write, with the write going to a temp file renamed into place, so a
 * concurrent reader never sees a half-written file and concurrent writers at worst
 * drop each other's newest entry (which is then measured again).
 */
/**
 * The backend the cache keeps timings under: wasm's with its thread count, which XNNPACK's
 * operators and archc's kernel pool (../kernels/pool.ts) both run on, so a ranking timed on
 * one thread is not taken for two.
 */
function cacheBackend(backend: string): string {
  return backend === "wasm" && kernelThreads() > 1 ? `wasm, ${kernelThreads()} threads` : backend;
}

function writeCacheEntry(dir: string, backend: string, key: string, entry: CacheEntry): void {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, CACHE_FILE);
  const cache = readCache(file);
  (cache.backends[backend] ??= {})[key] = entry;
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(cache, null, 2) + "\n");
  fs.renameSync(tmp, file);
}

function lookupCache(dir: string, backend: string, key: string): CacheEntry | undefined {
  const entry = readCache(path.join(dir, CACHE_FILE)).backends[backend]?.[key];
  return entry && isStrategyName(entry.strategy) ? entry : undefined;
}

/** Per-process answers, so a layer pays the file read once per shape, not per call. */
const memory = new Map<string, Choice>();

export function clearStrategyMemo(): void {
  memory.clear();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * What a calibration times: the process's CPU time where the backend computes on this thread
 * alone (cpu, and wasm with one thread for XNNPACK and archc's kernel pool), which a machine
 * shared with other work barely changes, since waiting for a core is not in it; the wall-clock
 * where several threads (or a device) do the work, since their overlap is what is being bought.
 */
export type Clock = "cpu" | "wall";

export function calibrationClock(backend: string = tf.getBackend()): Clock {
  const oneThread = backend === "cpu" || (backend === "wasm" && kernelThreads() <= 1);
  return oneThread && typeof process?.cpuUsage === "function" ? "cpu" : "wall";
}

/**
 * Times strategies on random data of the given shape, on the active backend, in interleaved
 * rounds: one run of every candidate per round, the order reversed every other round, so what
 * disturbs a stretch of time (another process's burst, this process's own warm-up: V8 tiering
 * up wasm code it has just started running, on background threads whose CPU time counts) falls
 * on every candidate rather than on whichever was timed first. Each candidate keeps its least
 * disturbed run, the minimum (disturbances only add time). Timed one after the other, with the
 * median of three wall-clock runs, the first grouped layer of mini_xception (32x28x28x32, 8 or
 * 16 groups, training) took `dense` in 6 of 16 calibrations at a load average of 9-14, where
 * `native` takes a third of its CPU time (docs/PERFORMANCE.md, issue 26).
 *
 * `warmup` untimed rounds come first. A candidate whose run is `giveUp` times the best so far is
 * not timed further (that run stands as its time); once every candidate still timed has used
 * `budgetMs`, no further round starts, so calibrating a large layer costs a few of its calls.
 * dataSync() makes the timing include the work on backends that run asynchronously.
 */
export function measureStrategies(
  s: ConvShape,
  names: readonly StrategyName[],
  opts: {
    warmup?: number;
    runs?: number;
    giveUp?: number;
    budgetMs?: number;
    mode?: Mode;
    clock?: Clock;
  } = {},
): Partial<Record<StrategyName, number>> {
  const warmup = Math.max(opts.warmup ?? 1, 1);
  const runs = Math.max(opts.runs ?? 3, 1);
  const giveUp = opts.giveUp ?? 3;
  const budgetMs = opts.budgetMs ?? 1000;
  const clock = opts.clock ?? calibrationClock();
  const x = tf.randomNormal([s.batch, s.inHeight, s.inWidth, s.inChannels]) as tf.Tensor4D;
  const kernel = tf.randomNormal([
    s.kernelHeight,
    s.kernelWidth,
    s.inChannels / s.groups,
    s.outChannels,
  ]) as tf.Tensor4D;
  const conv = {
    groups: s.groups,
    strides: s.strides,
    padding: s.padding,
    dilationRate: s.dilation,
  };
  const train = opts.mode === "train";
  // Inference expands `dense`'s block-diagonal kernel once, when the program is built: its
  // forward time is the regular conv on the expanded kernel.
  let expanded: tf.Tensor4D | undefined;
  const denseForward = (a: tf.Tensor4D) => {
    expanded ??= denseInferenceKernel(kernel, conv);
    return denseInferenceConv(a, expanded, conv);
  };
  const now = (): number => {
    if (clock === "wall") return performance.now();
    const c = process.cpuUsage();
    return (c.user + c.system) / 1000;
  };
  const once = (name: StrategyName): number => {
    const t0 = now();
    const f = (a: tf.Tensor, b: tf.Tensor) =>
      !train && name === "dense"
        ? denseForward(a as tf.Tensor4D)
        : STRATEGIES[name](a as tf.Tensor4D, b as tf.Tensor4D, conv);
    const out = train ? tf.grads((a, b) => tf.sum(f(a!, b!)))([x, kernel]) : [f(x, kernel)];
    for (const t of out) t.dataSync();
    const ms = now() - t0;
    tf.dispose(out);
    return ms;
  };
  const times: Partial<Record<StrategyName, number>> = {};
  const spent = new Map<StrategyName, number>();
  let live = [...names];
  const inOrder = (round: number) => (round % 2 ? [...live].reverse() : live);
  try {
    for (let w = 0; w < warmup; w++) for (const name of inOrder(w)) times[name] = once(name);
    for (let r = 0; r < runs && live.some((n) => (spent.get(n) ?? 0) < budgetMs); r++) {
      for (const name of inOrder(warmup + r)) {
        const ms = once(name);
        // The first timed run replaces the warm-up's; later ones can only lower it.
        times[name] = spent.has(name) ? Math.min(times[name]!, ms) : ms;
        spent.set(name, (spent.get(name) ?? 0) + ms);
      }
      const best = Math.min(...live.map((n) => times[n]!));
      live = live.filter((n) => times[n]! <= best * giveUp);
    }
  } finally {
    x.dispose();
    kernel.dispose();
    expanded?.dispose();
  }
  return times;
}

/**
 * How much faster a timed candidate must be before it displaces the prior's pick (the
 * strategy the speed table ranks first: `native` through the middle of the continuum in
 * training on wasm). Calibrations repeated under load disagree by about this much on candidates
 * that are close, so without it the same layer took one strategy in one run and another in the
 * next; a wrong pick inside the margin costs at most this fraction of that layer's time.
 */
export const LEAVE_PRIOR_MARGIN = 0.1;

/**
 * The strategy to take from timed candidates: the fastest, unless the prior's pick was timed
 * and is within LEAVE_PRIOR_MARGIN of it; excluded names are left out of both.
 */
export function pickTimed(
  times: Partial<Record<StrategyName, number>>,
  prior: StrategyName,
  exclude: readonly StrategyName[] = [],
): StrategyName | undefined {
  const best = fastest(times, exclude);
  const priorMs = exclude.includes(prior) ? undefined : times[prior];
  return best !== undefined &&
    priorMs !== undefined &&
    priorMs <= times[best]! * (1 + LEAVE_PRIOR_MARGIN)
    ? prior
    : best;
}

function fastest(
  times: Partial<Record<StrategyName, number>>,
  exclude: readonly StrategyName[] = [],
): StrategyName | undefined {
  let pick: StrategyName | undefined;
  for (const name of STRATEGY_NAMES) {
    const t = exclude.includes(name) ? undefined : times[name];
    if (t !== undefined && (pick === undefined || t < times[pick]!)) pick = name;
  }
  return pick;
}

/**
 * The strategy for one layer shape on the active backend, for inference or for
 * training (opts.mode). Precedence: the explicit option, then ARCHC_GROUPED_STRATEGY,
 * then this process's earlier answer, then the on-disk cache, then a fresh
 * measurement (cached), or the prior when calibration is off. An explicit choice is honoured even where the cost model would not consider
 * it: every strategy is correct for every shape.
 */
export function chooseStrategy(s: ConvShape, opts: ChooseOptions = {}): Choice {
  const explicit = opts.strategy ?? "auto";
  if (explicit !== "auto")
    return { strategy: parseStrategy(explicit, "strategy") as StrategyName, source: "option" };
  const env = envStrategy();
  if (env) return { strategy: env, source: "env" };

  const backend = tf.getBackend();
  const timedOn = cacheBackend(backend);
  const mode = opts.mode ?? "forward";
  const key = shapeKey(s) + (mode === "train" ? "_train" : "");
  const calibrate = opts.calibrate ?? true;
  const dir = cacheDirectory(opts.cacheDir);
  const exclude = opts.exclude ?? [];
  const memoKey = `${dir}\0${timedOn}\0${key}\0${calibrate}\0${exclude.join(",")}`;
  const memo = memory.get(memoKey);
  if (memo) return { ...memo, source: "memory" };

  let choice: Choice;
  // A cached answer that is excluded gives way to the fastest allowed one it timed, if any.
  const cached = lookupCache(dir, timedOn, key);
  const prior = () => priorStrategy(s, { backend, mode, exclude });
  const cachedPick = cached && pickTimed(cached.timesMs, prior(), exclude);
  if (cached && !exclude.includes(cached.strategy)) {
    choice = { strategy: cached.strategy, source: "cache", timesMs: cached.timesMs };
  } else if (cached && cachedPick) {
    choice = { strategy: cachedPick, source: "cache", timesMs: cached.timesMs };
  } else if (!calibrate) {
    choice = { strategy: prior(), source: "prior" };
  } else {
    const names = candidateStrategies(s, {
      backend,
      mode,
      exclude,
      ...(opts.pruneFactor !== undefined && { pruneFactor: opts.pruneFactor }),
    });
    const timesMs = measureStrategies(s, names, {
      mode,
      ...(opts.warmup !== undefined && { warmup: opts.warmup }),
      ...(opts.runs !== undefined && { runs: opts.runs }),
    });
    const strategy = pickTimed(timesMs, prior()) ?? prior();
    // What is cached is the pick among all timed; an excluded answer is for this caller only.
    if (!exclude.length) writeCacheEntry(dir, timedOn, key, { strategy, timesMs });
    choice = { strategy, source: "measured", timesMs };
  }
  memory.set(memoKey, choice);
  return choice;
}

/**
 * Bytes one call of a strategy holds beyond its input and output, for one layer shape: the
 * intermediates it materialises (float32). In training the engine keeps every intermediate the
 * backward pass reads until that pass, and the backward pass makes gradients and copies of them
 * (TRAIN_FACTOR); inference frees them as it goes, so only the largest is held at once. Only the
 * order of magnitude matters: it decides which strategy fits a memory budget, not how fast it
 * runs.
 */
export function strategyBytes(name: StrategyName, s: ConvShape, mode: Mode = "forward"): number {
  const geo = convGeometry(s);
  const m = s.batch * geo.outHeight * geo.outWidth;
  const g = s.groups;
  const gi = s.inChannels / g;
  const go = s.outChannels / g;
  const taps = s.kernelHeight * s.kernelWidth;
  const input = s.batch * s.inHeight * s.inWidth * s.inChannels;
  const output = m * s.outChannels;
  const kernel = taps * gi * s.outChannels;
  // Each entry is one intermediate, in elements.
  let parts: number[];
  switch (name) {
    case "split":
      parts = g === 1 ? [] : [input, input, output, output];
      break;
    case "blockdiag":
      // The block-diagonal dense kernel: groups times the real one, independent of the batch.
      parts = [taps * s.inChannels * s.outChannels, kernel];
      break;
    case "dense":
      // The dense kernel, kept for the backward pass, and its gradient there.
      parts = [taps * s.inChannels * s.outChannels];
      break;
    case "depthwise":
      parts = gi === 1 ? [] : [m * s.inChannels * go, m * s.inChannels * go];
      break;
    case "channelwise":
      parts = [
        ...new Array<number>(go).fill(m * s.inChannels),
        ...(gi > 1 ? new Array<number>(go).fill(m * g) : []),
        ...(go > 1 ? [output, output] : []),
      ];
      break;
    case "interleave":
      parts = gi > 1 ? [input, input, input] : [input];
      break;
    case "taps":
      // Per tap a window, a product and a running sum.
      parts = [input, ...new Array<number>(taps).fill(m * s.inChannels), 2 * taps * output];
      break;
    case "im2col":
      parts = [input, ...new Array<number>(taps).fill(m * s.inChannels), taps * m * s.inChannels];
      break;
    case "native":
      // The padded input while a kernel runs; the gradient keeps only x and the kernel.
      parts = [input];
      break;
  }
  const elements =
    mode === "train" ? TRAIN_FACTOR * parts.reduce((a, b) => a + b, 0) : Math.max(0, ...parts);
  return 4 * elements;
}

/**
 * Training's peak over the sum of a strategy's forward intermediates, fitted on wasm to a
 * training step's measured peak (tf.profile) for two 64-channel layers at 16 parts, batch 16:
 * 2.5 to 4 across the strategies.
 */
const TRAIN_FACTOR = 3.5;

/** tfjs-backend-wasm is 32-bit WebAssembly: its heap, every tensor included, stops at 4 GiB. */
export const WASM_HEAP_BYTES = 4 * 2 ** 30;

/**
 * The memory a model may use on `backend`: a fraction of the machine's memory (what is free
 * now, plus what this process already holds, and never over 80% of all of it), and on wasm also
 * of its 4 GiB heap. The fractions leave room for the allocator's fragmentation, the kernels'
 * scratch buffers and everything else in the process.
 */
export function memoryBudget(
  backend: string = tf.getBackend(),
  machine: { total: number; free: number; used: number } = {
    total: os.totalmem(),
    free: os.freemem(),
    used: process.memoryUsage().rss,
  },
): number {
  const ram = Math.min(0.8 * machine.total, 0.9 * (machine.free + machine.used));
  return backend === "wasm" ? Math.min(ram, 0.85 * WASM_HEAP_BYTES) : ram;
}

export interface BudgetOptions extends ChooseOptions {
  /** Bytes the rest of the model needs (activations, weights, optimizer state). */
  baseBytes: number;
  /** Bytes available in all (default: memoryBudget() on the active backend). */
  budgetBytes?: number;
}

export interface BudgetChoice {
  /** One strategy per layer, in the order given. */
  strategies: StrategyName[];
  /** Estimated bytes of the whole model with these strategies, and with the fastest. */
  bytes: number;
  fastestBytes: number;
  budgetBytes: number;
  /** False when even the least memory-hungry strategies exceed the budget. */
  fits: boolean;
}

/**
 * Strategies for all grouped layers of one model at once, with memory in the cost: each layer
 * starts from its fastest strategy (chooseStrategy: measured, cached, or the prior); while the
 * model's estimated memory (baseBytes plus every layer's strategyBytes) exceeds the budget, the
 * one change that saves the most memory per millisecond lost (by the prior's estimates) is made,
 * until the model fits or no layer has a leaner strategy left. A model that fits in memory
 * with some choice of strategies is thus never given one that does not.
 */
export function chooseUnderBudget(shapes: readonly ConvShape[], opts: BudgetOptions): BudgetChoice {
  const mode = opts.mode ?? "forward";
  const budgetBytes = opts.budgetBytes ?? memoryBudget();
  const backend = tf.getBackend();
  const picks = shapes.map((s) => chooseStrategy(s, opts).strategy);
  const mem = (i: number, name: StrategyName) => strategyBytes(name, shapes[i]!, mode);
  const ms = (i: number, name: StrategyName) => estimateMs(name, shapes[i]!, { backend, mode });
  const total = () => opts.baseBytes + picks.reduce((sum, p, i) => sum + mem(i, p), 0);
  const fastestBytes = total();
  // An explicit strategy (option or environment) is the user's to keep, whatever it costs.
  const pinned = opts.strategy !== undefined && opts.strategy !== "auto";
  while (!pinned && total() > budgetBytes) {
    let best: { i: number; name: StrategyName; score: number } | undefined;
    picks.forEach((pick, i) => {
      for (const name of allowedStrategies(shapes[i]!, opts.exclude)) {
        const saved = mem(i, pick) - mem(i, name);
        if (saved <= 0) continue;
        const lost = Math.max(ms(i, name) - ms(i, pick), 1e-6);
        const score = saved / lost;
        if (!best || score > best.score) best = { i, name, score };
      }
    });
    if (!best) break;
    picks[best.i] = best.name;
  }
  const bytes = total();
  return { strategies: picks, bytes, fastestBytes, budgetBytes, fits: bytes <= budgetBytes };
}
