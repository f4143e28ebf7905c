import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  CACHE_DIR_ENV,
  CACHE_FILE,
  type ConvShape,
  LEAVE_PRIOR_MARGIN,
  GroupedConv2D,
  STRATEGIES,
  STRATEGY_ENV,
  STRATEGY_NAMES,
  type StrategyName,
  applicableStrategies,
  candidateStrategies,
  chooseStrategy,
  clearStrategyMemo,
  groupedConv2d,
  pickTimed,
  priorStrategy,
  shapeKey,
} from "../../../compiler/backends/tfjs/grouped/index.js";
import { initWasmBackend } from "../../../compiler/backends/tfjs/kernels/wasmInit.js";

type Padding = "same" | "valid";

interface Case {
  label: string;
  strides: number;
  dilation: number;
  padding: Padding;
}

/** 8x9 input: odd and even sizes, so stride-2 'same' gets an asymmetric pad on one axis. */
const N = 2;
const H = 8;
const W = 9;
const CIN = 8;
const CASES: Case[] = [
  { label: "stride 1 same", strides: 1, dilation: 1, padding: "same" },
  { label: "stride 2 same", strides: 2, dilation: 1, padding: "same" },
  { label: "dilation 2 same", strides: 1, dilation: 2, padding: "same" },
  { label: "stride 2 valid", strides: 2, dilation: 1, padding: "valid" },
  { label: "dilation 2 valid", strides: 1, dilation: 2, padding: "valid" },
];
/** groups 1 (regular) through 8 (depthwise, multiplier 1 or 2). */
const LAYOUTS = [1, 2, 4, 8].flatMap((groups) => [8, 16].map((cout) => ({ groups, cout })));

/** Deterministic values in [-1, 1], as plain nested arrays. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

function array4(shape: [number, number, number, number], seed: number): number[][][][] {
  const r = rng(seed);
  return Array.from({ length: shape[0] }, () =>
    Array.from({ length: shape[1] }, () =>
      Array.from({ length: shape[2] }, () => Array.from({ length: shape[3] }, r)),
    ),
  );
}

/**
 * The oracle: the grouped kernel written into a dense [kh', kw', cin, cout] kernel
 * with plain JS (zeros off the diagonal blocks and, for dilation, between taps),
 * then one undilated tf.conv2d. Undilated because tfjs has no conv2d gradient for
 * dilation > 1; the dilated forward is cross-checked separately below.
 */
function denseKernel(k: number[][][][], groups: number, cin: number, dilation: number) {
  const kh = k.length;
  const kw = k[0]!.length;
  const gi = k[0]![0]!.length;
  const cout = k[0]![0]![0]!.length;
  const go = cout / groups;
  const khd = (kh - 1) * dilation + 1;
  const kwd = (kw - 1) * dilation + 1;
  const dense = new Float32Array(khd * kwd * cin * cout);
  const at = (a: number, b: number, c: number, o: number) =>
    ((a * dilation * kwd + b * dilation) * cin + c) * cout + o;
  for (let a = 0; a < kh; a++)
    for (let b = 0; b < kw; b++)
      for (let i = 0; i < gi; i++)
        for (let o = 0; o < cout; o++) {
          const c = Math.floor(o / go) * gi + i;
          dense[at(a, b, c, o)] = k[a]![b]![i]![o]!;
        }
  return { dense: tf.tensor4d(dense, [khd, kwd, cin, cout]), at };
}

interface Result {
  y: Float32Array;
  dx: Float32Array;
  dk: Float32Array;
  shape: number[];
}

/** y, and the gradients of sum(y * dy) w.r.t. x and the grouped kernel. */
function reference(
  x: number[][][][],
  k: number[][][][],
  groups: number,
  c: Case,
  dySeed: number,
): Result {
  return tf.tidy(() => {
    const kh = k.length;
    const kw = k[0]!.length;
    const gi = k[0]![0]!.length;
    const cout = k[0]![0]![0]!.length;
    const { dense, at } = denseKernel(k, groups, CIN, c.dilation);
    const xt = tf.tensor4d(x);
    const f = (xi: tf.Tensor4D, ki: tf.Tensor4D) => tf.conv2d(xi, ki, c.strides, c.padding);
    const y = f(xt, dense);
    const dy = tf.tensor4d(array4(y.shape as [number, number, number, number], dySeed));
    const [dx, dDense] = tf.grads((xi: tf.Tensor, ki: tf.Tensor) =>
      tf.sum(tf.mul(f(xi as tf.Tensor4D, ki as tf.Tensor4D), dy)),
    )([xt, dense]);
    // The grouped kernel's gradient is the dense one read back at its own positions.
    const dd = dDense!.dataSync();
    const go = cout / groups;
    const dk = new Float32Array(kh * kw * gi * cout);
    for (let a = 0; a < kh; a++)
      for (let b = 0; b < kw; b++)
        for (let i = 0; i < gi; i++)
          for (let o = 0; o < cout; o++)
            dk[((a * kw + b) * gi + i) * cout + o] = dd[at(a, b, Math.floor(o / go) * gi + i, o)]!;
    return {
      y: y.dataSync() as Float32Array,
      dx: dx!.dataSync() as Float32Array,
      dk,
      shape: y.shape,
    };
  });
}

function run(
  name: StrategyName,
  x: number[][][][],
  k: number[][][][],
  groups: number,
  c: Case,
  dySeed: number,
): Result {
  return tf.tidy(() => {
    const opts = { groups, strides: c.strides, padding: c.padding, dilationRate: c.dilation };
    const xt = tf.tensor4d(x);
    const kt = tf.tensor4d(k);
    const f = (xi: tf.Tensor4D, ki: tf.Tensor4D) => STRATEGIES[name](xi, ki, opts);
    const y = f(xt, kt);
    const dy = tf.tensor4d(array4(y.shape as [number, number, number, number], dySeed));
    const [dx, dk] = tf.grads((xi: tf.Tensor, ki: tf.Tensor) =>
      tf.sum(tf.mul(f(xi as tf.Tensor4D, ki as tf.Tensor4D), dy)),
    )([xt, kt]);
    return {
      y: y.dataSync() as Float32Array,
      dx: dx!.dataSync() as Float32Array,
      dk: dk!.dataSync() as Float32Array,
      shape: y.shape,
    };
  });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const TOL = 1e-4;

// Layers calibrate on first use; keep their cache out of the working directory.
const fileCacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "archc-grouped-file-"));
const savedCacheDir = process.env[CACHE_DIR_ENV];

beforeAll(async () => {
  process.env[CACHE_DIR_ENV] = fileCacheDir;
  await tf.setBackend("cpu");
  await tf.ready();
});

afterAll(() => {
  if (savedCacheDir === undefined) delete process.env[CACHE_DIR_ENV];
  else process.env[CACHE_DIR_ENV] = savedCacheDir;
  fs.rmSync(fileCacheDir, { recursive: true, force: true });
});

describe("strategies match a dense block-diagonal conv2d (cpu, values and gradients)", () => {
  describe.each(CASES)("$label", (c) => {
    it.each([...STRATEGY_NAMES])("%s", (name) => {
      let seed = 1;
      for (const { groups, cout } of LAYOUTS) {
        const x = array4([N, H, W, CIN], seed++);
        const k = array4([3, 3, CIN / groups, cout], seed++);
        const ref = reference(x, k, groups, c, seed);
        const got = run(name, x, k, groups, c, seed);
        const where = `${name} groups=${groups} cout=${cout}`;
        expect(got.shape, where).toEqual(ref.shape);
        expect(maxAbsDiff(got.y, ref.y), `${where} y`).toBeLessThan(TOL);
        expect(maxAbsDiff(got.dx, ref.dx), `${where} dx`).toBeLessThan(TOL);
        expect(maxAbsDiff(got.dk, ref.dk), `${where} dkernel`).toBeLessThan(TOL);
      }
    });
  });

  it("the undilated oracle agrees with tf.conv2d's own dilated forward", () => {
    const x = array4([N, H, W, CIN], 7);
    const k = array4([3, 3, CIN, 8], 8);
    for (const padding of ["same", "valid"] as const) {
      const c: Case = { label: "", strides: 1, dilation: 2, padding };
      const ref = reference(x, k, 1, c, 9);
      const direct = tf.tidy(
        () =>
          tf
            .conv2d(tf.tensor4d(x), tf.tensor4d(k), 1, padding, "NHWC", 2)
            .dataSync() as Float32Array,
      );
      expect(maxAbsDiff(direct, ref.y)).toBeLessThan(TOL);
    }
  });

  it("leaves no tensors behind", () => {
    const x = tf.randomNormal([1, 6, 6, 8]) as tf.Tensor4D;
    const k = tf.randomNormal([3, 3, 2, 8]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    for (const name of STRATEGY_NAMES) {
      STRATEGIES[name](x, k, { groups: 4, strides: 2, dilationRate: 1, padding: "same" }).dispose();
      STRATEGIES[name](x, k, { groups: 4, dilationRate: 2, padding: "valid" }).dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, k]);
  });

  it("rejects groups that do not divide the channels", () => {
    const x = tf.zeros([1, 4, 4, 6]) as tf.Tensor4D;
    const k = tf.zeros([3, 3, 2, 8]) as tf.Tensor4D;
    expect(() => STRATEGIES.split(x, k, { groups: 4 })).toThrow(/groups=4/);
    tf.dispose([x, k]);
  });
});

describe("GroupedConv2D layer", () => {
  const model = (args: Partial<ConstructorParameters<typeof GroupedConv2D>[0]> = {}) => {
    const m = tf.sequential();
    m.add(
      new GroupedConv2D({
        name: "gconv",
        inputShape: [8, 8, 8],
        filters: 16,
        kernelSize: 3,
        padding: "same",
        groups: 4,
        useBias: true,
        strategy: "auto",
        calibrate: false,
        ...args,
      }),
    );
    return m;
  };

  it("has the grouped output shape and parameter count", () => {
    const m = model();
    expect(m.outputs[0]!.shape).toEqual([null, 8, 8, 16]);
    expect(m.countParams()).toBe(3 * 3 * (8 / 4) * 16 + 16);
    expect(m.layers[0]!.getWeights().map((w) => w.shape)).toEqual([[3, 3, 2, 16], [16]]);
    const noBias = model({ useBias: false, groups: 8 });
    expect(noBias.countParams()).toBe(3 * 3 * 1 * 16);
  });

  it("computes TensorFlow's output sizes for 'valid', stride and dilation", () => {
    const layer = new GroupedConv2D({ filters: 8, kernelSize: [3, 5], groups: 2 });
    expect(layer.computeOutputShape([null, 10, 12, 4])).toEqual([null, 8, 8, 8]);
    const strided = new GroupedConv2D({
      filters: 8,
      kernelSize: 3,
      strides: 2,
      padding: "same",
      groups: 2,
    });
    expect(strided.computeOutputShape([2, 15, 16, 4])).toEqual([2, 8, 8, 8]);
    const dilated = new GroupedConv2D({ filters: 4, kernelSize: 3, dilationRate: 2, groups: 4 });
    expect(dilated.computeOutputShape([null, 10, null, 4])).toEqual([null, 6, null, 4]);
    // And the layer's tensors agree with its declared shape.
    const y = strided.apply(tf.zeros([2, 15, 16, 4])) as tf.Tensor;
    expect(y.shape).toEqual([2, 8, 8, 8]);
    y.dispose();
  });

  it("names the layer and the valid values when groups does not divide the channels", () => {
    expect(() => new GroupedConv2D({ name: "bad", filters: 10, kernelSize: 3, groups: 4 })).toThrow(
      /'bad'.*groups=4.*filters=10.*1, 2, 5, 10/,
    );
    const layer = new GroupedConv2D({ name: "odd", filters: 12, kernelSize: 3, groups: 4 });
    expect(() => layer.apply(tf.zeros([1, 5, 5, 6]))).toThrow(
      /'odd'.*groups=4.*input channels \(6\).*valid groups: 1, 2, 3, 6/,
    );
  });

  it("matches groupedConv2d on its own weights, plus bias", () => {
    const m = model({ strategy: "split" });
    const x = tf.randomNormal([2, 8, 8, 8]) as tf.Tensor4D;
    const [kernel, bias] = m.layers[0]!.getWeights() as [tf.Tensor4D, tf.Tensor1D];
    const expected = tf.add(
      groupedConv2d(x, kernel, { groups: 4, padding: "same", strategy: "blockdiag" }),
      bias,
    );
    const got = m.predict(x) as tf.Tensor;
    expect(maxAbsDiff(got.dataSync(), expected.dataSync())).toBeLessThan(TOL);
    tf.dispose([x, expected, got]);
  });

  it("round-trips through model.save and tf.loadLayersModel with identical predictions", async () => {
    const m = model({
      strategy: "interleave",
      strides: 2,
      dilationRate: 1,
      kernelInitializer: "heNormal",
    });
    let artifacts: tf.io.ModelArtifacts | undefined;
    await m.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
      }),
    );
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    const layer = loaded.layers[0]!;
    expect(layer).toBeInstanceOf(GroupedConv2D);
    const cfg = layer.getConfig();
    expect(cfg).toMatchObject({
      filters: 16,
      kernelSize: [3, 3],
      strides: [2, 2],
      padding: "same",
      groups: 4,
      useBias: true,
      strategy: "interleave",
    });
    expect(cfg.kernelInitializer).toMatchObject({
      className: "VarianceScaling",
      config: { mode: "fanIn", distribution: "normal" },
    });
    const x = tf.randomNormal([3, 8, 8, 8]);
    const a = m.predict(x) as tf.Tensor;
    const b = loaded.predict(x) as tf.Tensor;
    expect(b.shape).toEqual([3, 4, 4, 16]);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([x, a, b]);
  });

  it("trains: gradients reach the kernel through the layer", async () => {
    const m = model({ strategy: "channelwise", useBias: false });
    m.add(tf.layers.globalAveragePooling2d({}));
    m.compile({ optimizer: tf.train.sgd(0.05), loss: "meanSquaredError" });
    const x = tf.randomNormal([4, 8, 8, 8], 0, 1, "float32", 1);
    const y = tf.ones([4, 16]);
    const before = m.layers[0]!.getWeights()[0]!.dataSync().slice();
    const h = await m.fit(x, y, { epochs: 3, batchSize: 4, verbose: 0 });
    const losses = h.history.loss as number[];
    expect(losses[2]!).toBeLessThan(losses[0]!);
    expect(maxAbsDiff(m.layers[0]!.getWeights()[0]!.dataSync(), before)).toBeGreaterThan(0);
    tf.dispose([x, y]);
  });
});

describe("cost model", () => {
  let dir: string;
  const saved = { cache: fileCacheDir, strategy: process.env[STRATEGY_ENV] };
  const shape: ConvShape = {
    batch: 2,
    inHeight: 8,
    inWidth: 8,
    inChannels: 16,
    outChannels: 16,
    kernelHeight: 3,
    kernelWidth: 3,
    strides: [1, 1],
    dilation: [1, 1],
    padding: "same",
    groups: 4,
  };
  const cacheFile = () => path.join(dir, CACHE_FILE);

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "archc-grouped-"));
    process.env[CACHE_DIR_ENV] = dir;
    delete process.env[STRATEGY_ENV];
    clearStrategyMemo();
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    for (const [key, value] of [
      [CACHE_DIR_ENV, saved.cache],
      [STRATEGY_ENV, saved.strategy],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    clearStrategyMemo();
  });

  it("measures once, picks an applicable candidate and writes the cache atomically", () => {
    const first = chooseStrategy(shape);
    expect(first.source).toBe("measured");
    expect(applicableStrategies(shape)).toContain(first.strategy);
    expect(candidateStrategies(shape)).toContain(first.strategy);
    const times = first.timesMs!;
    for (const t of Object.values(times)) expect(t).toBeGreaterThan(0);
    // The fastest, or the prior's pick where it is within the margin of the fastest.
    expect(first.strategy).toBe(pickTimed(times, priorStrategy(shape)));
    expect(times[first.strategy]).toBeLessThanOrEqual(
      Math.min(...Object.values(times)) * (1 + LEAVE_PRIOR_MARGIN),
    );

    const file = JSON.parse(fs.readFileSync(cacheFile(), "utf8"));
    expect(file.backends.cpu[shapeKey(shape)].strategy).toBe(first.strategy);
    expect(fs.readdirSync(dir)).toEqual([CACHE_FILE]); // no temp files left over

    expect(chooseStrategy(shape).source).toBe("memory");
  });

  it("reuses the cache file instead of measuring again", () => {
    const first = chooseStrategy(shape);
    clearStrategyMemo();
    const again = chooseStrategy(shape);
    expect(again).toMatchObject({ source: "cache", strategy: first.strategy });

    // A planted answer proves the file is what is read.
    const planted = applicableStrategies(shape).find((n) => n !== first.strategy)!;
    const file = JSON.parse(fs.readFileSync(cacheFile(), "utf8"));
    file.backends.cpu[shapeKey(shape)].strategy = planted;
    fs.writeFileSync(cacheFile(), JSON.stringify(file));
    clearStrategyMemo();
    expect(chooseStrategy(shape)).toMatchObject({ source: "cache", strategy: planted });

    // Other shapes and backends are separate entries.
    const other = { ...shape, groups: 2 };
    expect(chooseStrategy(other).source).toBe("measured");
    const both = JSON.parse(fs.readFileSync(cacheFile(), "utf8"));
    expect(Object.keys(both.backends.cpu).sort()).toEqual(
      [shapeKey(shape), shapeKey(other)].sort(),
    );
  });

  it("keeps training-mode choices apart from forward ones", () => {
    const forward = chooseStrategy(shape);
    const train = chooseStrategy(shape, { mode: "train" });
    expect(train.source).toBe("measured");
    expect(applicableStrategies(shape)).toContain(train.strategy);
    const file = JSON.parse(fs.readFileSync(cacheFile(), "utf8"));
    expect(file.backends.cpu[shapeKey(shape)].strategy).toBe(forward.strategy);
    expect(file.backends.cpu[`${shapeKey(shape)}_train`].strategy).toBe(train.strategy);
  });

  it("survives a corrupt cache file by measuring again", () => {
    fs.writeFileSync(cacheFile(), "{ not json");
    expect(chooseStrategy(shape).source).toBe("measured");
    expect(() => JSON.parse(fs.readFileSync(cacheFile(), "utf8"))).not.toThrow();
  });

  it("leaves excluded strategies out of the prior, the cache's answer and the measurement", () => {
    const first = chooseStrategy(shape);
    const without = [first.strategy];
    clearStrategyMemo();
    const cached = chooseStrategy(shape, { exclude: without });
    expect(cached.source).toBe("cache");
    expect(cached.strategy).not.toBe(first.strategy);
    expect(cached.strategy).toBe(
      pickTimed(first.timesMs!, priorStrategy(shape, { exclude: without }), without),
    );
    // The file keeps the fastest of all; the exclusion is the caller's.
    const file = JSON.parse(fs.readFileSync(cacheFile(), "utf8"));
    expect(file.backends.cpu[shapeKey(shape)].strategy).toBe(first.strategy);
    const other = { ...shape, groups: 2 };
    const measured = chooseStrategy(other, { exclude: ["split", "blockdiag"] });
    expect(measured.source).toBe("measured");
    expect(Object.keys(measured.timesMs!)).not.toContain("split");
    expect(measured.strategy).not.toMatch(/^(split|blockdiag)$/);
    expect(priorStrategy({ ...shape, groups: 1 }, { exclude: ["split"] })).not.toBe("split");
    expect(
      priorStrategy({ ...shape, groups: 16, outChannels: 32 }, { exclude: ["depthwise"] }),
    ).not.toBe("depthwise");
  });

  it("uses the prior without measuring when calibration is off", () => {
    expect(chooseStrategy(shape, { calibrate: false }).source).toBe("prior");
    expect(fs.existsSync(cacheFile())).toBe(false);
    expect(priorStrategy({ ...shape, groups: 1 })).toBe("split");
    expect(priorStrategy({ ...shape, groups: 16, outChannels: 32 })).toBe("depthwise");
    expect(applicableStrategies(shape)).toContain(priorStrategy(shape));
  });

  it("honours an explicit strategy, then the environment variable", () => {
    expect(chooseStrategy(shape, { strategy: "blockdiag" })).toEqual({
      strategy: "blockdiag",
      source: "option",
    });
    process.env[STRATEGY_ENV] = "taps";
    expect(chooseStrategy(shape)).toEqual({ strategy: "taps", source: "env" });
    expect(chooseStrategy(shape, { strategy: "split" }).strategy).toBe("split");
    process.env[STRATEGY_ENV] = "fastest";
    expect(() => chooseStrategy(shape)).toThrow(/ARCHC_GROUPED_STRATEGY.*'fastest'.*split/);
    expect(fs.existsSync(cacheFile())).toBe(false);
  });

  it("model.fit calibrates the layer for training, separately from predict", async () => {
    const m = tf.sequential();
    m.add(
      new GroupedConv2D({
        inputShape: [8, 8, 16],
        filters: 16,
        kernelSize: 3,
        padding: "same",
        groups: 4,
      }),
    );
    m.add(tf.layers.globalAveragePooling2d({}));
    m.compile({ optimizer: "sgd", loss: "meanSquaredError" });
    const x = tf.randomNormal([2, 8, 8, 16]);
    await m.fit(x, tf.zeros([2, 16]), { epochs: 1, verbose: 0 });
    tf.dispose(m.predict(x) as tf.Tensor);
    const file = JSON.parse(fs.readFileSync(cacheFile(), "utf8"));
    expect(Object.keys(file.backends.cpu).sort()).toEqual(
      [shapeKey(shape), `${shapeKey(shape)}_train`].sort(),
    );
    x.dispose();
  });

  it("the layer goes through the cost model, and its option wins", () => {
    const layer = (strategy: "auto" | StrategyName) =>
      new GroupedConv2D({ filters: 16, kernelSize: 3, padding: "same", groups: 4, strategy });
    const x = tf.randomNormal([2, 8, 8, 16]);
    tf.dispose(layer("auto").apply(x) as tf.Tensor);
    const file = JSON.parse(fs.readFileSync(cacheFile(), "utf8"));
    expect(Object.keys(file.backends.cpu)).toEqual([shapeKey(shape)]);
    expect(() => layer("nope" as StrategyName)).toThrow(/unknown grouped conv strategy 'nope'/);
    x.dispose();
  });
});

describe("wasm backend (forward only)", () => {
  beforeAll(async () => {
    await initWasmBackend();
  });
  afterAll(async () => {
    await tf.setBackend("cpu");
  });

  it.each([...STRATEGY_NAMES])("%s matches the oracle", (name) => {
    expect(tf.getBackend()).toBe("wasm");
    let seed = 100;
    for (const c of CASES)
      for (const { groups, cout } of LAYOUTS) {
        const x = array4([N, H, W, CIN], seed++);
        const k = array4([3, 3, CIN / groups, cout], seed++);
        const ref = tf.tidy(() => {
          const { dense } = denseKernel(k, groups, CIN, c.dilation);
          return tf.conv2d(tf.tensor4d(x), dense, c.strides, c.padding).dataSync();
        });
        const got = tf.tidy(() =>
          STRATEGIES[name](tf.tensor4d(x), tf.tensor4d(k), {
            groups,
            strides: c.strides,
            padding: c.padding,
            dilationRate: c.dilation,
          }).dataSync(),
        );
        expect(
          maxAbsDiff(got, ref),
          `${name} ${c.label} groups=${groups} cout=${cout}`,
        ).toBeLessThan(TOL);
      }
  });
});
