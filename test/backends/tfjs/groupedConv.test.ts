import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initWasmBackend } from "../../../compiler/backends/tfjs/kernels/wasmInit.js";
import {
  GroupedConv2D,
  GroupedConv2DBackpropFilter,
  GroupedConv2DBackpropInput,
  flippedPerGroup,
  groupedConv2dAvailable,
  groupedConv2dNative,
  packKernel,
  type GroupedConv2DAttrs,
} from "../../../compiler/backends/tfjs/kernels/groupedConv.js";
import {
  TILE_COLS,
  TILE_ROWS,
  groupedModule,
  runTile,
  tileName,
  type GroupedFns,
} from "../../../compiler/backends/tfjs/kernels/groupedSimd.js";
import {
  STRATEGIES,
  isApplicable,
  splitStrategy,
} from "../../../compiler/backends/tfjs/grouped/strategies.js";
import { candidateStrategies } from "../../../compiler/backends/tfjs/grouped/costModel.js";
import { GroupedConv2D as GroupedLayer } from "../../../compiler/backends/tfjs/grouped/layer.js";
import { poolThreads, setKernelThreads } from "../../../compiler/backends/tfjs/kernels/pool.js";
import { mulberry32 as prng } from "../../../compiler/util/random.js";
import { maxAbsDiff, type Shape4, size, uniform } from "./numbers.js";

// archc's grouped convolution kernels (forward, input and filter gradient) against the cpu
// backend's split + concat lowering, and against central finite differences, at every
// divisor of a 12-channel layer.

type Pad = "same" | "valid" | tf.backend_util.ExplicitPadding;

const rand = prng(26);
const values = (n: number): Float32Array => uniform(rand, n);

const TOL = 1e-4;

interface Case {
  x: Shape4;
  cout: number;
  groups: number;
  kernel: [number, number];
  strides: number;
  dilation: number;
  pad: Pad;
}

/**
 * y, dx and dk of sum(conv(x, k) * dy) on `backend`, by the native kernel (on `threads` of the
 * kernel pool) or by split.
 */
async function forwardAndGrads(
  backend: "cpu" | "wasm",
  c: Case,
  xv: Float32Array,
  kv: Float32Array,
  dyv: Float32Array,
  threads = 1,
): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  setKernelThreads(threads);
  const kShape: Shape4 = [...c.kernel, c.x[3] / c.groups, c.cout];
  const conv = (x: tf.Tensor4D, k: tf.Tensor4D): tf.Tensor4D => {
    if (backend === "wasm")
      return groupedConv2dNative(x, k, {
        strides: c.strides,
        pad: c.pad,
        dilations: c.dilation,
        groups: c.groups,
      });
    // The reference: explicit pads applied first, then split's 'valid' convolution.
    const padded = typeof c.pad === "string" ? x : tf.pad(x, c.pad);
    return splitStrategy(padded, k, {
      groups: c.groups,
      strides: c.strides,
      dilationRate: c.dilation,
      padding: typeof c.pad === "string" ? c.pad : "valid",
    });
  };
  const result = tf.tidy(() => {
    const x = tf.tensor4d(xv, c.x);
    const k = tf.tensor4d(kv, kShape);
    const y = conv(x, k);
    const dy = tf.tensor(dyv.subarray(0, y.size), y.shape);
    const [dx, dk] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(conv(a as tf.Tensor4D, b as tf.Tensor4D), dy)),
    )([x, k]);
    return [y, dx!, dk!];
  });
  setKernelThreads(undefined);
  const out = await Promise.all(result.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose(result);
  return out;
}

const DIVISORS_OF_12 = [1, 2, 3, 4, 6, 12];

function cases(): Case[] {
  const out: Case[] = [];
  // Every divisor of 12 input channels, 12 and 24 output channels (so a group's columns run
  // through 8-wide, 4-wide and scalar tiles), odd sizes (pixel blocks of 4 and a remainder),
  // stride 1 and 2, 'same' and 'valid'.
  for (const groups of DIVISORS_OF_12)
    for (const cout of [12, 24])
      for (const strides of [1, 2])
        for (const pad of ["same", "valid"] as const)
          out.push({ x: [2, 7, 9, 12], cout, groups, kernel: [3, 3], strides, dilation: 1, pad });
  // Dilation, a non-square kernel, explicit pads, a 1x1 kernel.
  out.push({
    x: [1, 11, 10, 12],
    cout: 12,
    groups: 3,
    kernel: [3, 3],
    strides: 1,
    dilation: 2,
    pad: "same",
  });
  out.push({
    x: [2, 8, 7, 12],
    cout: 18,
    groups: 6,
    kernel: [2, 3],
    strides: 2,
    dilation: 1,
    pad: "valid",
  });
  out.push({
    x: [1, 6, 9, 12],
    cout: 8,
    groups: 4,
    kernel: [3, 3],
    strides: 2,
    dilation: 1,
    pad: [
      [0, 0],
      [2, 0],
      [1, 3],
      [0, 0],
    ],
  });
  out.push({
    x: [3, 5, 5, 12],
    cout: 36,
    groups: 4,
    kernel: [1, 1],
    strides: 1,
    dilation: 1,
    pad: "valid",
  });
  return out;
}

const label = (c: Case) =>
  `${c.x.join("x")} -> ${c.cout}, groups ${c.groups}, ${c.kernel.join("x")}/${c.strides}, dilation ${c.dilation}, ${JSON.stringify(c.pad)}`;

/** The thread counts the kernels are tested at: 1, and 2 on the kernel pool. */
const THREADS = [1, 2];

beforeAll(async () => {
  // Two threads whatever the machine has, so the kernel pool (shared memory) is always tested.
  const started = await initWasmBackend({ threads: 2 });
  if (started.threads === 2) expect(poolThreads(tf.backend())).toBe(2);
});

describe("the grouped tile module", () => {
  it("binds to the wasm backend's memory", async () => {
    await tf.setBackend("wasm");
    expect(groupedConv2dAvailable()).toBe(true);
  });

  it("every tile accumulates outer products over its walk, in plain and shared memory", () => {
    for (const shared of [false, true]) {
      const memory = new WebAssembly.Memory(
        shared ? { initial: 1, maximum: 65536, shared: true } : { initial: 1 },
      );
      const instance = new WebAssembly.Instance(
        new WebAssembly.Module(groupedModule(shared) as Uint8Array<ArrayBuffer>),
        {
          env: { memory },
        },
      );
      const fns = instance.exports as unknown as GroupedFns;
      const f = new Float32Array(memory.buffer);
      for (const rows of TILE_ROWS)
        for (const cols of TILE_COLS) {
          expect(fns[tileName(rows, cols)]).toBeTypeOf("function");
          // out [2 tiles][rows][cols] (rows 32 floats apart) += A[row][k] B[k][col], k < 5 x 3.
          const steps = 15;
          const a = values(rows * steps);
          const b = values(steps * 16);
          const [aAt, bAt, oAt] = [0, 1024, 4096];
          f.set(a, aAt / 4);
          f.set(b, bAt / 4);
          f.fill(0.25, oAt / 4, oAt / 4 + 256);
          runTile(
            fns,
            rows,
            cols,
            { o: oAt, a: aAt, b: bAt },
            [{ count: 2, o: 4 * cols, a: 0, b: 4 * cols }],
            [
              { count: 5, a: 12, b: 3 * 64 },
              { count: 3, a: 4, b: 64 },
            ],
            4 * steps,
            128,
          );
          for (let t = 0; t < 2; t++)
            for (let r = 0; r < rows; r++)
              for (let j = 0; j < cols; j++) {
                let want = 0.25;
                for (let k = 0; k < steps; k++)
                  want += a[r * steps + k]! * b[k * 16 + t * cols + j]!;
                expect(
                  f[oAt / 4 + r * 32 + t * cols + j],
                  `${rows}x${cols} t${t} r${r} c${j}`,
                ).toBeCloseTo(want, 4);
              }
          // Nothing written beyond the tiles.
          expect(f[oAt / 4 + 2 * cols]).toBe(0.25);
        }
    }
  });

  it("packs and flips kernels as the tiles read them", () => {
    // 2 taps, gi 1, cout 6, 2 groups (go 3: scalar columns).
    const k = Float32Array.from({ length: 12 }, (_, i) => i);
    expect(Array.from(packKernel(k, 2, 1, 6, 2))).toEqual([0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11]);
    // [1, 2, gi 1, cout 2], 2 groups: taps reversed, each group's 1x1 block swapped.
    expect(Array.from(flippedPerGroup(Float32Array.of(1, 2, 3, 4), [1, 2, 1, 2], 2))).toEqual([
      3, 4, 1, 2,
    ]);
  });
});

describe("forward, input gradient and filter gradient match the cpu backend's split + concat", () => {
  it.each(cases().map((c) => [label(c), c] as const))("%s, on 1 and 2 threads", async (_, c) => {
    const xv = values(size(c.x));
    const kv = values(c.kernel[0] * c.kernel[1] * (c.x[3] / c.groups) * c.cout);
    const dyv = values(size(c.x) * c.cout);
    const want = await forwardAndGrads("cpu", c, xv, kv, dyv);
    const one = await forwardAndGrads("wasm", c, xv, kv, dyv, 1);
    const two = await forwardAndGrads("wasm", c, xv, kv, dyv, 2);
    for (const got of [one, two])
      for (const [i, name] of ["y", "dx", "dk"].entries())
        expect(maxAbsDiff(got[i]!, want[i]!), name).toBeLessThan(TOL);
    // The pool cuts y and dx by output, so each sum runs in one thread's order: the same bits.
    expect(two[0]).toEqual(one[0]);
    expect(two[1]).toEqual(one[1]);
  });
});

describe("padding is read as zeros inside the kernels", () => {
  // The kernels once padded their input with tf.pad and ran 'valid' over it; they now leave
  // the taps that read padding out. The same terms in the same order less products with zero:
  // the same bits as the native kernels on an input padded by tf.pad.
  const padCases = cases().filter((c) => c.pad !== "valid");
  padCases.push({
    x: [2, 4, 3, 8],
    cout: 8,
    groups: 2,
    kernel: [5, 5], // wider than the input: windows with no tap inside on both sides
    strides: 1,
    dilation: 1,
    pad: [
      [0, 0],
      [4, 4],
      [3, 5],
      [0, 0],
    ],
  });
  padCases.push({
    x: [1, 9, 8, 12],
    cout: 12,
    groups: 6,
    kernel: [3, 2],
    strides: 3,
    dilation: 2,
    pad: "same",
  });

  /** The explicit [top, bottom], [left, right] pads a case's forward convolution applies. */
  function explicitPads(c: Case): tf.backend_util.ExplicitPadding {
    const info = tf.backend_util.computeConv2DInfo(
      c.x,
      [...c.kernel, c.x[3] / c.groups, c.cout],
      c.strides,
      c.dilation,
      c.pad,
    );
    const needH = (info.outHeight - 1) * c.strides + info.effectiveFilterHeight;
    const needW = (info.outWidth - 1) * c.strides + info.effectiveFilterWidth;
    const { top, left } = info.padInfo;
    return [
      [0, 0],
      [top, Math.max(0, needH - top - c.x[1])],
      [left, Math.max(0, needW - left - c.x[2])],
      [0, 0],
    ];
  }

  it.each(padCases.map((c) => [label(c), c] as const))(
    "%s: bit-identical to tf.pad + 'valid', no Pad kernel",
    async (_, c) => {
      await tf.setBackend("wasm");
      const kShape: Shape4 = [...c.kernel, c.x[3] / c.groups, c.cout];
      const xv = values(size(c.x));
      const kv = values(size(kShape));
      const dyv = values(size(c.x) * c.cout);
      const attrs = { strides: c.strides, dilations: c.dilation, groups: c.groups };
      const run = (padFirst: boolean) =>
        tf.tidy(() => {
          const conv = (x: tf.Tensor, k: tf.Tensor) =>
            padFirst
              ? groupedConv2dNative(tf.pad(x as tf.Tensor4D, explicitPads(c)), k as tf.Tensor4D, {
                  ...attrs,
                  pad: "valid",
                })
              : groupedConv2dNative(x as tf.Tensor4D, k as tf.Tensor4D, { ...attrs, pad: c.pad });
          const x = tf.tensor4d(xv, c.x);
          const k = tf.tensor4d(kv, kShape);
          const y = conv(x, k);
          const dy = tf.tensor(dyv.subarray(0, y.size), y.shape);
          const [dx, dk] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), dy)))(
            [x, k],
          );
          return [y, dx!, dk!].map((t) => t.dataSync() as Float32Array);
        });
      for (const threads of THREADS) {
        setKernelThreads(threads);
        const inside = run(false);
        const outside = run(true);
        expect(inside[0], "y").toEqual(outside[0]);
        expect(inside[2], "dk").toEqual(outside[2]);
        expect(inside[1], "dx").toEqual(outside[1]);
      }
      setKernelThreads(undefined);
      // Stride 1 needs no tensor besides the kernels' own: no Pad (nor a spread) anywhere.
      if (c.strides === 1) {
        const x = tf.tensor4d(xv, c.x);
        const k = tf.tensor4d(kv, kShape);
        const profile = await tf.profile(() =>
          tf.grads((a: tf.Tensor, b: tf.Tensor) =>
            tf.sum(
              groupedConv2dNative(a as tf.Tensor4D, b as tf.Tensor4D, { ...attrs, pad: c.pad }),
            ),
          )([x, k]),
        );
        expect(profile.kernelNames).toEqual(
          expect.arrayContaining([GroupedConv2DBackpropInput, GroupedConv2DBackpropFilter]),
        );
        expect(profile.kernelNames.filter((n) => /^Pad/.test(n))).toEqual([]);
        tf.dispose([x, k, ...(profile.result as tf.Tensor[])]);
      }
    },
  );
});

describe("gradients match central finite differences", () => {
  it.each(DIVISORS_OF_12.flatMap((g) => THREADS.map((t) => [g, t] as const)))(
    "parts %i on %i thread(s) (3x3, stride 2, same, tanh between)",
    async (groups, threads) => {
      await tf.setBackend("wasm");
      setKernelThreads(threads);
      const xShape: Shape4 = [2, 5, 6, 12];
      const kShape: Shape4 = [3, 3, 12 / groups, 12];
      const attrs = { strides: 2, pad: "same" as const, dilations: 1, groups };
      const r = tf.tensor4d(values(2 * 3 * 3 * 12), [2, 3, 3, 12]);
      const loss = (x: tf.Tensor, k: tf.Tensor): tf.Scalar =>
        tf.sum(tf.mul(tf.tanh(groupedConv2dNative(x as tf.Tensor4D, k as tf.Tensor4D, attrs)), r));
      const x0 = values(size(xShape));
      const k0 = values(size(kShape));
      const [gx, gk] = tf.tidy(() =>
        tf
          .grads(loss)([tf.tensor4d(x0, xShape), tf.tensor4d(k0, kShape)])
          .map((t) => t.dataSync()),
      ) as Float32Array[];
      const at = (x: Float32Array, k: Float32Array) =>
        tf.tidy(() => loss(tf.tensor4d(x, xShape), tf.tensor4d(k, kShape)).dataSync()[0]!);
      const eps = 1e-2;
      let worst = 0;
      for (const [which, base, grad] of [
        ["x", x0, gx!],
        ["k", k0, gk!],
      ] as const)
        for (let trial = 0; trial < 12; trial++) {
          const i = Math.floor(rand() * base.length);
          const plus = Float32Array.from(base);
          const minus = Float32Array.from(base);
          plus[i]! += eps;
          minus[i]! -= eps;
          const numeric =
            which === "x"
              ? (at(plus, k0) - at(minus, k0)) / (2 * eps)
              : (at(x0, plus) - at(x0, minus)) / (2 * eps);
          worst = Math.max(worst, Math.abs(numeric - grad[i]!) / Math.max(1, Math.abs(numeric)));
        }
      setKernelThreads(undefined);
      expect(worst).toBeLessThan(5e-3);
      r.dispose();
    },
  );
});

describe("as a strategy", () => {
  const shape = {
    batch: 2,
    inHeight: 8,
    inWidth: 8,
    inChannels: 64,
    outChannels: 64,
    kernelHeight: 3,
    kernelWidth: 3,
    strides: [1, 1] as [number, number],
    dilation: [1, 1] as [number, number],
    padding: "same" as const,
    groups: 8,
  };

  it("runs as one kernel on wasm and is offered to the cost model there, not on cpu", async () => {
    await tf.setBackend("wasm");
    expect(isApplicable("native", shape)).toBe(true);
    expect(candidateStrategies(shape, { pruneFactor: 1e9 })).toContain("native");
    const x = tf.randomNormal([2, 8, 8, 64]) as tf.Tensor4D;
    const k = tf.randomNormal([3, 3, 8, 64]) as tf.Tensor4D;
    const profile = await tf.profile(() => STRATEGIES.native(x, k, { groups: 8, padding: "same" }));
    expect(profile.kernelNames).toEqual(expect.arrayContaining([GroupedConv2D]));
    expect(profile.kernelNames).not.toContain("Conv2D");
    tf.dispose([x, k, profile.result as tf.Tensor]);
    await tf.setBackend("cpu");
    expect(isApplicable("native", shape)).toBe(false);
    const y = STRATEGIES.native(tf.ones([1, 4, 4, 4]), tf.ones([3, 3, 2, 4]), { groups: 2 });
    expect(y.shape).toEqual([1, 4, 4, 4]); // split's result where the kernel is not there
    y.dispose();
  });

  it("says what is wrong with channels that do not make the groups, and leaks nothing", async () => {
    await tf.setBackend("wasm");
    const run = (name: string, inputs: tf.NamedTensorMap, attrs: object) =>
      tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
    const x = tf.zeros([1, 4, 4, 6]);
    const k = tf.zeros([3, 3, 2, 8]);
    const attrs: GroupedConv2DAttrs = { strides: 1, pad: "same", dilations: 1, groups: 4 };
    expect(() => run(GroupedConv2D, { x, filter: k }, attrs)).toThrow(
      /input channels 6 and filter \[\.\., 2, 8\] do not make 4 groups/,
    );
    const before = { tensors: tf.memory().numTensors, data: tf.backend().numDataIds() };
    const ok = { ...attrs, groups: 3, strides: 2 };
    const k3 = tf.zeros([3, 3, 2, 9]);
    for (let i = 0; i < 3; i++) {
      const y = run(GroupedConv2D, { x, filter: k3 }, ok);
      run(
        GroupedConv2DBackpropInput,
        { dy: y, filter: k3 },
        { ...ok, inputShape: x.shape },
      ).dispose();
      run(GroupedConv2DBackpropFilter, { x, dy: y }, { ...ok, filterShape: k3.shape }).dispose();
      y.dispose();
    }
    expect(tf.memory().numTensors).toBe(before.tensors + 1);
    expect(tf.backend().numDataIds()).toBe(before.data + 1);
    tf.dispose([x, k, k3]);
  });

  it("a GroupedConv2D layer on it trains with model.fit through the gradient kernels", async () => {
    await tf.setBackend("wasm");
    const model = tf.sequential();
    model.add(
      new GroupedLayer({
        inputShape: [7, 7, 12],
        filters: 12,
        kernelSize: 3,
        padding: "same",
        groups: 4,
        strategy: "native",
      }),
    );
    model.add(tf.layers.globalAveragePooling2d({}));
    model.add(tf.layers.dense({ units: 2, activation: "softmax" }));
    model.compile({ optimizer: tf.train.sgd(0.5), loss: "categoricalCrossentropy" });
    const x = tf.tensor4d(values(16 * 7 * 7 * 12), [16, 7, 7, 12]);
    const y = tf.oneHot(
      tf.tensor1d(
        Array.from({ length: 16 }, (_, i) => i % 2),
        "int32",
      ),
      2,
    );
    const profile = await tf.profile(() => {
      const g = tf.grads((a: tf.Tensor) => tf.sum(model.apply(a, { training: true }) as tf.Tensor))(
        [x],
      );
      return g[0]!;
    });
    expect(profile.kernelNames).toEqual(
      expect.arrayContaining([GroupedConv2D, GroupedConv2DBackpropInput]),
    );
    tf.dispose(profile.result as tf.Tensor);
    const history = await model.fit(x, y, { epochs: 6, batchSize: 16, verbose: 0 });
    const losses = history.history["loss"] as number[];
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]!);
    tf.dispose([x, y]);
    model.dispose();
  });
});
