import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initWasmBackend } from "../../../compiler/backends/tfjs/kernels/wasmInit.js";
import { MAX_PAD_ELEMENTS } from "../../../compiler/backends/tfjs/kernels/pad.js";
import {
  installedReplacement,
  replacedWasmKernel,
} from "../../../compiler/backends/tfjs/kernels/register.js";

// pad.ts: 4-D PadV2 as copies at two threads. It must give wasm's own kernel's bits (the one
// it replaced, on the same input) and the cpu backend's values for every padded axis,
// constant (zero, -0, -infinity as MaxPadding2D pads, NaN, a plain number) and dtype, empty
// tensors included; other ranks and large outputs stay with wasm's kernel.

let threads = 1;

beforeAll(async () => {
  threads = (await initWasmBackend({ threads: 2 })).threads;
  await tf.setBackend("wasm");
});

const bitsOf = (t: tf.Tensor): number[] =>
  t.dtype === "float32"
    ? Array.from(new Uint32Array(Float32Array.from(t.dataSync() as Float32Array).buffer))
    : Array.from(t.dataSync());

function theirs(x: tf.Tensor, paddings: [number, number][], constantValue: number): tf.Tensor {
  const k = replacedWasmKernel(tf.PadV2)!;
  const info = k.kernelFunc({
    inputs: { x },
    backend: tf.backend(),
    attrs: { paddings, constantValue } as unknown as tf.NamedAttrMap,
  }) as tf.TensorInfo;
  return tf.engine().makeTensorFromTensorInfo(info);
}

const CASES: [number[], [number, number][]][] = [
  [
    [2, 5, 6, 3],
    [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ],
  ], // MaxPadding2D's
  [
    [2, 5, 6, 3],
    [
      [0, 0],
      [0, 1],
      [2, 0],
      [0, 0],
    ],
  ],
  [
    [2, 5, 6, 3],
    [
      [1, 0],
      [0, 0],
      [0, 0],
      [0, 3],
    ],
  ],
  [
    [1, 3, 2, 5],
    [
      [1, 1],
      [0, 2],
      [1, 0],
      [2, 1],
    ],
  ],
  [
    [3, 4, 1, 1],
    [
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
    ],
  ],
  [
    [1, 1, 1, 7],
    [
      [0, 0],
      [0, 0],
      [0, 0],
      [1, 0],
    ],
  ],
  [
    [0, 3, 2, 1],
    [
      [1, 1],
      [2, 0],
      [0, 0],
      [0, 1],
    ],
  ], // an empty input, a non-empty output
  [
    [2, 0, 4, 1],
    [
      [0, 0],
      [0, 0],
      [1, 1],
      [0, 0],
    ],
  ], // empty both
];

describe("PadV2 on wasm at two threads", () => {
  it("is installed over wasm's kernel", () => {
    expect(replacedWasmKernel(tf.PadV2)).toBeDefined();
    expect(tf.getKernel(tf.PadV2, "wasm")).toBe(installedReplacement(tf.PadV2));
    expect(threads).toBeGreaterThanOrEqual(1);
  });

  it.each(CASES)("gives wasm's bits and cpu's values at %j padded %j", async (shape, paddings) => {
    const n = shape.reduce((a, b) => a * b, 1);
    for (const dtype of ["float32", "int32"] as const) {
      const data = Array.from(
        { length: n },
        (_, i) => ((i * 37) % 19) - 9 + (dtype === "float32" ? 0.25 : 0),
      );
      for (const value of dtype === "float32" ? [0, -Infinity, NaN, -2.5, -0] : [0, 7, -3]) {
        const x = tf.tensor(data, shape, dtype);
        const ours = tf.pad(x, paddings, value);
        const ref = theirs(x, paddings, value);
        const what = `${dtype} ${Object.is(value, -0) ? "-0" : value}`;
        expect(ours.shape, what).toEqual(ref.shape);
        expect(ours.dtype, what).toBe(dtype);
        // wasm's own kernel reuses the XNNPACK operator of an earlier pad whose constant compared
        // equal: its NaN and -0 pads depend on what came before (cpu: NaN, +0)
        if (!Number.isNaN(value) && !Object.is(value, -0))
          expect(bitsOf(ours), what).toEqual(bitsOf(ref));
        const got = Array.from(ours.dataSync());
        tf.dispose([x, ours, ref]);
        await tf.setBackend("cpu");
        const cpu = tf.tidy(() =>
          Array.from(tf.pad(tf.tensor(data, shape, dtype), paddings, value).dataSync()),
        );
        await tf.setBackend("wasm");
        expect(got, what).toEqual(cpu);
      }
    }
  });

  it("pads NaN after -infinity with NaN (so the replacement ran: wasm's reuses -infinity)", () => {
    if (threads < 2) return expect(threads).toBe(1);
    const x = tf.ones([1, 2, 2, 1]);
    const p: [number, number][] = [
      [0, 0],
      [1, 0],
      [0, 0],
      [0, 0],
    ];
    tf.pad(x, p, -Infinity).dispose();
    const y = tf.pad(x, p, NaN);
    expect(Array.from(y.dataSync()).slice(0, 2)).toEqual([NaN, NaN]);
    tf.dispose([x, y]);
  });

  it("1-D and 5-D pads, and outputs over MAX_PAD_ELEMENTS, stay with wasm's kernel", async () => {
    const cases: [number[], [number, number][]][] = [
      [[5], [[2, 3]]],
      [
        [1, 3, 2, 2, 5],
        [
          [1, 1],
          [0, 2],
          [1, 0],
          [0, 0],
          [2, 1],
        ],
      ],
      [
        [2, 1024, 1024, 1],
        [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ],
      ],
    ];
    for (const [shape, p] of cases) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = Float32Array.from({ length: n }, (_, i) => (i % 11) - 5);
      const x = tf.tensor(data, shape);
      const [ours, ref] = [tf.pad(x, p, -2.5), theirs(x, p, -2.5)];
      expect(bitsOf(ours)).toEqual(bitsOf(ref));
      tf.dispose([x, ours, ref]);
    }
    expect(2 * 1026 * 1026).toBeGreaterThan(MAX_PAD_ELEMENTS);
  });

  it("a large -infinity pad (a 32x28x28x64 activation) matches wasm's", () => {
    const x = tf.randomNormal([32, 28, 28, 64], 0, 1, "float32", 3);
    const p: [number, number][] = [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ];
    const [ours, ref] = [tf.pad(x, p, -Infinity), theirs(x, p, -Infinity)];
    const [a, b] = [bitsOf(ours), bitsOf(ref)];
    expect(a.length).toBe(b.length);
    expect(a.findIndex((v, i) => v !== b[i])).toBe(-1);
    tf.dispose([x, ours, ref]);
  });

  it("bool tensors stay with wasm's kernel", () => {
    const x = tf.tensor([true, false, true], [3], "bool");
    const y = tf.pad(x, [[1, 1]]);
    expect(Array.from(y.dataSync())).toEqual([0, 1, 0, 1, 0]);
    tf.dispose([x, y]);
  });
});
