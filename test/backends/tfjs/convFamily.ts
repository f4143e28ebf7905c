import * as tf from "@tensorflow/tfjs";
import { groupedConv2dNative } from "../../../compiler/backends/tfjs/kernels/groupedConv.js";
import type { Shape4 } from "./numbers.js";

// (numbers.ts' helpers import vitest; this module also runs in plain scripts.)
const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const uniform = (rand: () => number, n: number): Float32Array =>
  Float32Array.from({ length: n }, () => rand() * 2 - 1);

// The convolution family as archc runs it on tfjs, for differential tests of wasm against
// tfjs-backend-cpu: random geometries (non-square kernels, strides, dilations, every padding
// kind, odd sizes, channel counts that are not multiples of 4, channel multipliers, batches)
// and one function that runs a case's forward pass and its gradients on the active backend.

export type Pad = "same" | "valid" | number | tf.backend_util.ExplicitPadding;

export type FamilyOp =
  "conv2d" | "fusedConv2d" | "depthwise" | "fusedDepthwise" | "grouped" | "maxPool" | "avgPool";

export const FAMILY: readonly FamilyOp[] = [
  "conv2d",
  "fusedConv2d",
  "depthwise",
  "fusedDepthwise",
  "grouped",
  "maxPool",
  "avgPool",
];

export interface FamilyCase {
  op: FamilyOp;
  x: Shape4;
  /** conv2d: [kh, kw, cin, cout]; depthwise: [kh, kw, cin, multiplier]; grouped: [kh, kw, cin/groups, cout]; pools: [kh, kw, c, c]. */
  f: Shape4;
  strides: [number, number];
  dilations: [number, number];
  pad: Pad;
  dimRoundingMode?: "floor" | "round" | "ceil";
  groups?: number;
}

const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const int = (rand: () => number, lo: number, hi: number): number =>
  lo + Math.floor(rand() * (hi - lo + 1));

function randomPad(rand: () => number): Pad {
  switch (int(rand, 0, 3)) {
    case 0:
      return "same";
    case 1:
      return "valid";
    case 2:
      return int(rand, 0, 3);
    default:
      return [
        [0, 0],
        [int(rand, 0, 3), int(rand, 0, 3)],
        [int(rand, 0, 3), int(rand, 0, 3)],
        [0, 0],
      ];
  }
}

const CHANNELS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16] as const;

/** A random case of `op` whose output is not empty (tfjs rejects or returns nothing there). */
export function randomCase(rand: () => number, op: FamilyOp): FamilyCase {
  for (;;) {
    const kh = int(rand, 1, 5);
    const kw = rand() < 0.3 ? kh : int(rand, 1, 5);
    const pool = op === "maxPool" || op === "avgPool";
    // tfjs takes a dilation above 1 only at stride 1; its pools take no dilation.
    const strides: [number, number] = rand() < 0.5 ? [1, 1] : [int(rand, 1, 3), int(rand, 1, 3)];
    const dilations: [number, number] =
      pool || strides[0] > 1 || strides[1] > 1 || rand() < 0.5
        ? [1, 1]
        : [int(rand, 1, 3), int(rand, 1, 3)];
    const pad = randomPad(rand);
    const dimRoundingMode =
      typeof pad !== "string" && rand() < 0.25
        ? pick(rand, ["floor", "round", "ceil"] as const)
        : undefined;
    const batch = pick(rand, [1, 1, 2, 3]);
    const h = int(rand, 1, 12);
    const w = int(rand, 1, 12);
    let c = pick(rand, CHANNELS);
    let f: Shape4;
    let groups: number | undefined;
    switch (op) {
      case "conv2d":
      case "fusedConv2d":
        f = [kh, kw, c, pick(rand, CHANNELS)];
        break;
      case "depthwise":
      case "fusedDepthwise":
        f = [kh, kw, c, pick(rand, [1, 1, 2, 3])];
        break;
      case "grouped": {
        groups = int(rand, 1, 4);
        const gi = int(rand, 1, 4);
        c = groups * gi;
        f = [kh, kw, gi, groups * int(rand, 1, 3)];
        break;
      }
      default:
        f = [kh, kw, c, c];
    }
    const x: Shape4 = [batch, h, w, c];
    const k: FamilyCase = {
      op,
      x,
      f,
      strides,
      dilations,
      pad,
      ...(dimRoundingMode ? { dimRoundingMode } : {}),
      ...(groups ? { groups } : {}),
    };
    const out = outShape(k);
    if (out && out.every((d) => d > 0)) return k;
  }
}

/** tfjs' output shape for the case (its computeConv2DInfo), or undefined where it rejects it. */
export function outShape(c: FamilyCase): number[] | undefined {
  try {
    return tf.backend_util.computeConv2DInfo(
      c.x,
      c.op === "grouped" ? [c.f[0], c.f[1], c.x[3], c.f[3]] : c.f,
      c.strides,
      c.dilations,
      c.pad,
      c.dimRoundingMode,
      c.op === "depthwise" || c.op === "fusedDepthwise",
    ).outShape;
  } catch {
    return undefined;
  }
}

export interface CaseData {
  x: Float32Array;
  f: Float32Array;
  bias: Float32Array;
  /** Weights of the scalar whose gradients are taken: sum(y * r). */
  r: Float32Array;
}

export function caseData(rand: () => number, c: FamilyCase): CaseData {
  const out = outShape(c)!;
  return {
    x: uniform(rand, size(c.x)),
    f: uniform(rand, size(c.f)),
    bias: uniform(rand, out[3]!),
    r: uniform(rand, size(out)),
  };
}

/** The grouped convolution from ops every backend has: one conv2d per group, concatenated. */
function groupedComposed(x: tf.Tensor4D, f: tf.Tensor4D, c: FamilyCase): tf.Tensor4D {
  const g = c.groups!;
  if (g === 1) return tf.conv2d(x, f, c.strides, c.pad, "NHWC", c.dilations, c.dimRoundingMode);
  const xs = tf.split(x, g, 3);
  const fs = tf.split(f, g, 3);
  return tf.concat(
    xs.map((xi, i) =>
      tf.conv2d(
        xi as tf.Tensor4D,
        fs[i]! as tf.Tensor4D,
        c.strides,
        c.pad,
        "NHWC",
        c.dilations,
        c.dimRoundingMode,
      ),
    ),
    3,
  ) as tf.Tensor4D;
}

function forward(c: FamilyCase, x: tf.Tensor4D, f: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor4D {
  const { strides, pad, dilations, dimRoundingMode } = c;
  switch (c.op) {
    case "conv2d":
      return tf.conv2d(x, f, strides, pad, "NHWC", dilations, dimRoundingMode);
    case "fusedConv2d":
      return tf.fused.conv2d({
        x,
        filter: f,
        strides,
        pad,
        dilations,
        dimRoundingMode,
        bias,
        activation: "relu",
      });
    case "depthwise":
      return tf.depthwiseConv2d(x, f, strides, pad, "NHWC", dilations, dimRoundingMode);
    case "fusedDepthwise":
      return tf.fused.depthwiseConv2d({
        x,
        filter: f,
        strides,
        pad: pad as never,
        dilations,
        dimRoundingMode,
        bias,
        activation: "relu",
      });
    case "grouped":
      return tf.getBackend() === "wasm"
        ? groupedConv2dNative(x, f, {
            strides,
            pad,
            dilations,
            groups: c.groups!,
            ...(dimRoundingMode ? { dimRoundingMode } : {}),
          })
        : groupedComposed(x, f, c);
    case "maxPool":
      return tf.maxPool(x, [c.f[0], c.f[1]], strides, pad as never, dimRoundingMode);
    case "avgPool":
      return tf.avgPool(x, [c.f[0], c.f[1]], strides, pad as never, dimRoundingMode);
  }
}

/**
 * Whether tfjs-core defines the case's gradients: its conv2d and depthwise gradients refuse
 * dilations above 1, and conv2d's (fused too) and the pools' drop dimRoundingMode, so their
 * gradient kernels get a dy of another shape than they compute (on every backend).
 */
export const differentiable = (c: FamilyCase): boolean =>
  c.dilations[0] === 1 &&
  c.dilations[1] === 1 &&
  !(c.dimRoundingMode && ["conv2d", "fusedConv2d", "grouped", "avgPool", "maxPool"].includes(c.op));

/**
 * The case's output, then (with `grads`) the gradients of sum(y * r) with respect to x and,
 * for convolutions, the filter, on the active backend, as arrays.
 */
export async function runCase(c: FamilyCase, d: CaseData, grads: boolean): Promise<Float32Array[]> {
  const out = outShape(c)!;
  const ts = tf.tidy(() => {
    const x = tf.tensor4d(d.x, c.x);
    const f = tf.tensor4d(d.f, c.f);
    const bias = tf.tensor1d(d.bias);
    const y = forward(c, x, f, bias);
    if (!grads || !differentiable(c)) return [y];
    const r = tf.tensor(d.r, out);
    const pool = c.op === "maxPool" || c.op === "avgPool";
    const loss = (a: tf.Tensor, b?: tf.Tensor) =>
      tf.sum(tf.mul(forward(c, a as tf.Tensor4D, (b ?? f) as tf.Tensor4D, bias), r));
    const g = pool ? [tf.grad((a: tf.Tensor) => loss(a))(x)] : tf.grads(loss)([x, f]);
    return [y, ...g];
  });
  const arrays = await Promise.all(ts.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(ts);
  return arrays;
}

/** Largest difference relative to the reference's scale; infinities and NaNs (empty windows) must match exactly. */
export function relativeError(got: Float32Array, want: Float32Array): number {
  if (got.length !== want.length) return Infinity;
  let scale = 1;
  for (const v of want) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const a = got[i]!;
    const b = want[i]!;
    if (!Number.isFinite(b) || !Number.isFinite(a)) {
      if (!Object.is(a, b) && !(Number.isNaN(a) && Number.isNaN(b))) return Infinity;
      continue;
    }
    worst = Math.max(worst, Math.abs(a - b) / scale);
  }
  return worst;
}

export const describeCase = (c: FamilyCase): string => JSON.stringify(c);
