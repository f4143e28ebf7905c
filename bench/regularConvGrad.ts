/**
 * Times the two ways archc computes each gradient of a regular (groups = 1) convolution on wasm,
 * interleaved call by call so that load on the machine hits both alike:
 *   dW: XNNPACK's correlation (kernels/conv2dBackpropFilter.ts) against the native register
 *       tiles of the grouped kernel at groups = 1 (kernels/groupedConv.ts);
 *   dx: XNNPACK's conv of the spread dy with the flipped filter (kernels/conv2dBackpropInput.ts)
 *       against the native tiles.
 * It checks that each pair agrees and prints the per-call medians (wall-clock, and at one thread
 * the process CPU time too, which a loaded machine disturbs less). The routing rules in
 * conv2dBackpropFilter.ts and conv2dBackpropInput.ts are set from these figures.
 *
 *   npx tsx bench/regularConvGrad.ts [--reps N] [--threads N] [--only LABEL]
 */
import * as tf from "@tensorflow/tfjs";
import { xnnpackFilterGradient } from "../compiler/backends/tfjs/kernels/conv2dBackpropFilter.js";
import { xnnpackInputGradient } from "../compiler/backends/tfjs/kernels/conv2dBackpropInput.js";
import {
  GroupedConv2DBackpropFilter,
  GroupedConv2DBackpropInput,
} from "../compiler/backends/tfjs/kernels/groupedConv.js";
import { initWasmBackend } from "../compiler/backends/tfjs/kernels/wasmInit.js";
import { median } from "./timing.js";

interface Shape {
  label: string;
  x: [number, number, number, number];
  k: number;
  stride: number;
  pad: "same" | "valid";
  co: number;
}

const shape = (
  label: string,
  x: Shape["x"],
  k: number,
  co: number,
  more: Partial<Pick<Shape, "stride" | "pad">> = {},
): Shape => ({ label, x, k, co, stride: 1, pad: "same", ...more });

const shapes: Shape[] = [
  shape("mini stem 3x3 1->32 28x28", [32, 28, 28, 1], 3, 32),
  shape("3x3 4->32 28x28", [32, 28, 28, 4], 3, 32),
  shape("mini 3x3 32->32 28x28", [32, 28, 28, 32], 3, 32),
  shape("mini 3x3 64->64 28x28", [32, 28, 28, 64], 3, 64),
  shape("mini 3x3 64->64 14x14", [32, 14, 14, 64], 3, 64),
  shape("mini 3x3 128->128 14x14", [32, 14, 14, 128], 3, 128),
  shape("mini 3x3 128->128 7x7", [32, 7, 7, 128], 3, 128),
  shape("mini 3x3 256->256 7x7", [32, 7, 7, 256], 3, 256),
  shape("3x3 8->16 28x28", [32, 28, 28, 8], 3, 16),
  shape("3x3 16->32 28x28", [32, 28, 28, 16], 3, 32),
  shape("3x3/2 64->64 28x28", [32, 28, 28, 64], 3, 64, { stride: 2 }),
  shape("5x5 32->32 14x14", [32, 14, 14, 32], 5, 32),
  shape("5x5 64->64 28x28", [32, 28, 28, 64], 5, 64),
  shape("3x3 128->128 10x10", [32, 10, 10, 128], 3, 128),
  shape("3x3 64->64 10x10", [32, 10, 10, 64], 3, 64),
  shape("3x3 256->256 14x14", [32, 14, 14, 256], 3, 256),
  shape("3x3 valid 64->96 15x15", [32, 15, 15, 64], 3, 96, { pad: "valid" }),
  shape("Xception stem 3x3/2 3->32 299x299", [8, 299, 299, 3], 3, 32, { stride: 2, pad: "valid" }),
  shape("Xception 3x3 32->64 149x149", [8, 149, 149, 32], 3, 64, { pad: "valid" }),
  shape("Xception 3x3 728->728 19x19", [8, 19, 19, 728], 3, 728),
];

const flag = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const reps = Number(flag("--reps") ?? 7);
const threadsWanted = flag("--threads") === undefined ? undefined : Number(flag("--threads"));
const only = flag("--only");

const started = await initWasmBackend(
  threadsWanted === undefined ? {} : { threads: threadsWanted },
);
const cpuToo = started.threads === 1;

function timed(f: () => tf.Tensor): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const t = f();
  t.dataSync();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  t.dispose();
  return { wall, cpu: (c.user + c.system) / 1000 };
}

/** Medians of interleaved calls of each candidate, and the largest difference between them. */
function race(candidates: (() => tf.Tensor)[]): { wall: number[]; cpu: number[]; diff: number } {
  const outs = candidates.map((f) => f());
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(outs[0]!, outs[1]!))).dataSync()[0]!);
  tf.dispose(outs);
  const walls = candidates.map(() => [] as number[]);
  const cpus = candidates.map(() => [] as number[]);
  for (let r = 0; r < reps; r++)
    candidates.forEach((f, i) => {
      const { wall, cpu } = timed(f);
      walls[i]!.push(wall);
      cpus[i]!.push(cpu);
    });
  return { wall: walls.map(median), cpu: cpus.map(median), diff };
}

const fmt = (xnn: number, nat: number): string =>
  `${xnn.toFixed(1).padStart(7)} ${nat.toFixed(1).padStart(7)} ${(xnn / nat).toFixed(2).padStart(5)}x`;

console.log(
  `wasm, ${started.threads} thread(s), median of ${reps} interleaved calls; ms: xnnpack native (xnnpack/native)` +
    (cpuToo ? "; cpu = process CPU time" : ""),
);
for (const s of shapes) {
  if (only && !s.label.includes(only)) continue;
  const [, , , ci] = s.x;
  const x = tf.randomNormal(s.x) as tf.Tensor4D;
  const filterShape: [number, number, number, number] = [s.k, s.k, ci, s.co];
  const w = tf.randomNormal(filterShape) as tf.Tensor4D;
  const info = tf.backend_util.computeConv2DInfo(s.x, filterShape, s.stride, 1, s.pad);
  const dy = tf.randomNormal(info.outShape) as tf.Tensor4D;
  const attrs = { strides: s.stride, pad: s.pad, dilations: 1, groups: 1 };
  const dW = race([
    () => xnnpackFilterGradient(x, dy, info),
    () =>
      tf.engine().runKernel(GroupedConv2DBackpropFilter, { x, dy }, {
        ...attrs,
        filterShape,
      } as unknown as tf.NamedAttrMap) as tf.Tensor,
  ]);
  const dx = race([
    () => xnnpackInputGradient(dy, w, info),
    () =>
      tf.engine().runKernel(GroupedConv2DBackpropInput, { dy, filter: w }, {
        ...attrs,
        inputShape: s.x,
      } as unknown as tf.NamedAttrMap) as tf.Tensor,
  ]);
  console.log(
    `${s.label.padEnd(28)} dW ${fmt(dW.wall[0]!, dW.wall[1]!)}` +
      (cpuToo ? ` cpu ${fmt(dW.cpu[0]!, dW.cpu[1]!)}` : "") +
      ` | dx ${fmt(dx.wall[0]!, dx.wall[1]!)}` +
      (cpuToo ? ` cpu ${fmt(dx.cpu[0]!, dx.cpu[1]!)}` : "") +
      `  max|diff| dW ${dW.diff.toExponential(1)} dx ${dx.diff.toExponential(1)}`,
  );
  tf.dispose([x, w, dy]);
}
