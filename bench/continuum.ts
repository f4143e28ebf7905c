/**
 * The partition continuum on the wasm backend: one 3x3 'same' conv 728->728 at
 * 19x19, batch 8, for every group count that divides 728 from regular to
 * depthwise. Times every strategy, asks the cost model for its pick (calibrating
 * into a fresh temp cache unless --cache), and prints a markdown table.
 *
 *   npx tsx bench/continuum.ts [--quick] [--train] [--runs N] [--cache]
 *
 * --quick: fewer group counts, one timed run, and strategies the prior puts far
 * behind are not timed. --train: time forward plus backward (gradients w.r.t. input
 * and kernel) and ask for the training-mode pick; strategies the prior puts 20x
 * behind are not timed, since on wasm some backward passes run for minutes. A
 * strategy whose first run is already 4x slower than the best so far at that group
 * count gets that single run as its time (shown ">").
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import {
  type ConvShape,
  type Mode,
  STRATEGIES,
  STRATEGY_NAMES,
  denseInferenceConv,
  denseInferenceKernel,
  type StrategyName,
  chooseStrategy,
  estimateMs,
  groupedMacs,
  isApplicable,
} from "../compiler/layers.js";
import { initWasmBackend } from "../compiler/backends/tfjs/kernels/wasmInit.js";
import { median } from "./timing.js";

const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const reuseCache = argv.includes("--cache");
const mode: Mode = argv.includes("--train") ? "train" : "forward";
const runsArg = argv.indexOf("--runs");
const runs = runsArg >= 0 ? Number(argv[runsArg + 1]) : quick ? 1 : 3;
const GROUPS = quick
  ? [1, 8, 28, 91, 182, 364, 728]
  : [1, 2, 4, 7, 8, 14, 28, 56, 91, 182, 364, 728];
const GIVE_UP = 4;
/** Estimates this many times the best estimate are not timed (Infinity: time all). */
const SKIP = quick ? 10 : mode === "train" ? 20 : Infinity;

const N = 8;
const HW = 19;
const C = 728;

type Timing = { ms: number; partial: boolean } | { skipped: string };

/** `dense`'s kernels expanded once per kernel and groups, as the inference program does. */
const expanded = new Map<string, tf.Tensor4D>();

function timeOnce(name: StrategyName, x: tf.Tensor4D, k: tf.Tensor4D, groups: number): number {
  const opts = { groups, padding: "same" as const };
  let dense: tf.Tensor4D | undefined;
  if (mode !== "train" && name === "dense") {
    const key = `${k.id} ${groups}`;
    dense = expanded.get(key) ?? denseInferenceKernel(k, opts);
    expanded.set(key, dense);
  }
  const t0 = performance.now();
  const f = (a: tf.Tensor, b: tf.Tensor) =>
    dense
      ? denseInferenceConv(a as tf.Tensor4D, dense, opts)
      : STRATEGIES[name](a as tf.Tensor4D, b as tf.Tensor4D, opts);
  const out = mode === "train" ? tf.grads((a, b) => tf.sum(f(a!, b!)))([x, k]) : [f(x, k)];
  for (const t of out) t.dataSync();
  const ms = performance.now() - t0;
  tf.dispose(out);
  return ms;
}

function fmt(t: Timing | undefined): string {
  if (!t) return "";
  if ("skipped" in t) return t.skipped;
  return `${t.partial ? ">" : ""}${t.ms.toFixed(1)}`;
}

async function main(): Promise<void> {
  await initWasmBackend();
  const backend = tf.getBackend();
  const cacheDir = reuseCache
    ? undefined
    : fs.mkdtempSync(path.join(os.tmpdir(), "archc-continuum-"));
  const x = tf.randomNormal([N, HW, HW, C]) as tf.Tensor4D;
  const rows: string[] = [];
  const chosenMs: number[] = [];
  const ratios: number[] = [];
  const started = performance.now();

  for (const groups of GROUPS) {
    const k = tf.randomNormal([3, 3, C / groups, C]) as tf.Tensor4D;
    const shape: ConvShape = {
      batch: N,
      inHeight: HW,
      inWidth: HW,
      inChannels: C,
      outChannels: C,
      kernelHeight: 3,
      kernelWidth: 3,
      strides: [1, 1],
      dilation: [1, 1],
      padding: "same",
      groups,
    };
    const estimates = Object.fromEntries(
      STRATEGY_NAMES.map((n) => [n, estimateMs(n, shape, { backend, mode })]),
    ) as Record<StrategyName, number>;
    const bestEstimate = Math.min(
      ...STRATEGY_NAMES.filter((n) => isApplicable(n, shape)).map((n) => estimates[n]),
    );
    const order = [...STRATEGY_NAMES].sort((a, b) => estimates[a] - estimates[b]);
    const timings: Partial<Record<StrategyName, Timing>> = {};
    let best = Infinity;
    for (const name of order) {
      if (!isApplicable(name, shape)) {
        timings[name] = { skipped: "n/a" };
        continue;
      }
      if (estimates[name] > SKIP * bestEstimate) {
        timings[name] = { skipped: "skip" };
        continue;
      }
      const first = timeOnce(name, x, k, groups);
      if (first > best * GIVE_UP) {
        timings[name] = { ms: first, partial: true };
        continue;
      }
      const samples = Array.from({ length: runs }, () => timeOnce(name, x, k, groups));
      const ms = median(samples);
      timings[name] = { ms, partial: false };
      best = Math.min(best, ms);
    }

    const t0 = performance.now();
    const choice = chooseStrategy(shape, {
      ...(cacheDir !== undefined && { cacheDir }),
      runs,
      mode,
    });
    const calibrationMs = performance.now() - t0;
    const picked = timings[choice.strategy];
    // A pick the sweep gave up on (or skipped) is timed now, so its column is honest.
    let pickedMs: number;
    if (picked && "ms" in picked && !picked.partial) pickedMs = picked.ms;
    else {
      timeOnce(choice.strategy, x, k, groups);
      pickedMs = median(
        Array.from({ length: runs }, () => timeOnce(choice.strategy, x, k, groups)),
      );
    }
    const bestName = STRATEGY_NAMES.reduce<StrategyName | undefined>((acc, n) => {
      const t = timings[n];
      if (!t || "skipped" in t || t.partial) return acc;
      const a = acc && timings[acc];
      return a && "ms" in a && a.ms <= t.ms ? acc : n;
    }, undefined)!;
    const bestMs = Math.min(best, pickedMs);
    chosenMs.push(pickedMs);
    ratios.push(pickedMs / bestMs);
    const macs = groupedMacs(shape);
    rows.push(
      `| ${groups} | ${(macs / 1e6).toFixed(0)} | ` +
        STRATEGY_NAMES.map((n) => fmt(timings[n])).join(" | ") +
        ` | ${choice.strategy} (${choice.source}) | ${pickedMs.toFixed(1)} | ${bestName} | ` +
        `${(pickedMs / bestMs).toFixed(2)} | ${(calibrationMs / 1000).toFixed(1)} |`,
    );
    process.stderr.write(
      `groups=${groups} done (${((performance.now() - started) / 1000).toFixed(0)} s)\n`,
    );
    k.dispose();
  }
  x.dispose();
  if (cacheDir !== undefined) fs.rmSync(cacheDir, { recursive: true, force: true });

  const header =
    `| groups | MMACs | ${STRATEGY_NAMES.join(" | ")} | chosen | chosen ms | best | chosen/best | calib s |\n` +
    `|---:|---:|${STRATEGY_NAMES.map(() => "---:").join("|")}|---|---:|---|---:|---:|`;
  console.log(
    `\nGrouped 3x3 'same' conv ${C}->${C} at ${HW}x${HW}, batch ${N}, backend ${backend}, ` +
      `${mode === "train" ? "forward + backward" : "forward"}; ` +
      `ms = median of ${runs} run(s) after a warm-up; ">" = one run, abandoned as ${GIVE_UP}x behind.\n`,
  );
  console.log(header);
  for (const r of rows) console.log(r);
  const rises = chosenMs.flatMap((ms, i) =>
    i > 0 && ms > chosenMs[i - 1]! ? [`${GROUPS[i - 1]}->${GROUPS[i]}`] : [],
  );
  console.log(
    `\nchosen time never rises with groups: ${rises.length ? `no (${rises.join(", ")})` : "yes"}; ` +
      `worst chosen/best: ${Math.max(...ratios).toFixed(2)}; ` +
      `total ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
}

await main();
