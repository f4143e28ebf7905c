/**
 * `npm run bench -- elementwise`: Relu, the ReLU gradient and PadV2 at two threads, wasm's own
 * kernels (XNNPACK's pthreadpool; Step then Multiply for the gradient) against archc's
 * (kernels/elementwise.ts, pad.ts) on the kernel pool and on the calling thread, interleaved
 * round by round in one process. Each timed call is followed by a 3 ms sleep, as a training
 * step follows it with other kernels: the process CPU time per call then includes what a
 * pool's threads burn after the call returns (XNNPACK's worker spins before it sleeps).
 *
 *   ARCHC_BENCH_ROUNDS=N npm run bench -- elementwise   (default 7)
 *   ARCHC_BENCH_FLOATS=65536,32x28x28x64 ...             (shapes; default 4 Ki to 11 M floats)
 */
import * as tf from "@tensorflow/tfjs";
import os from "node:os";
import { initWasmBackend } from "../compiler/backends/tfjs/kernels/wasmInit.js";
import { replacedWasmKernel } from "../compiler/backends/tfjs/kernels/register.js";
import { elementwise, type Kind } from "../compiler/backends/tfjs/kernels/elementwise.js";
import { median } from "./timing.js";

const CALLS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function wasmKernel(name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}) {
  const k = (replacedWasmKernel(name) ?? tf.getKernel(name, "wasm"))!;
  const info = k.kernelFunc({ inputs, backend: tf.backend(), attrs }) as tf.TensorInfo;
  return tf.engine().makeTensorFromTensorInfo(info);
}

interface Side {
  name: string;
  run: () => void;
}

function sides(x: tf.Tensor, dy: tf.Tensor): { op: string; sides: Side[] }[] {
  const backend = tf.backend();
  // 4-D: one pixel on each side of height and width; otherwise one element on each side.
  const pads = x.shape.map((_, i): [number, number] =>
    x.rank !== 4 || i === 1 || i === 2 ? [1, 1] : [0, 0],
  );
  const wasm = (run: () => tf.Tensor) => () => tf.dispose(tf.tidy(run));
  const ours = (kind: Kind, a: tf.Tensor, b: tf.Tensor | undefined, pooled: boolean) => () =>
    tf
      .engine()
      .makeTensorFromTensorInfo(elementwise(backend, kind, a, b, pooled))
      .dispose();
  return [
    {
      op: "Relu",
      sides: [
        { name: "wasm (XNNPACK)", run: wasm(() => wasmKernel(tf.Relu, { x })) },
        { name: "archc, pool", run: ours("relu", x, undefined, true) },
        { name: "archc, calling thread", run: ours("relu", x, undefined, false) },
      ],
    },
    {
      op: "ReLU gradient",
      sides: [
        {
          name: "wasm Step, Multiply",
          run: wasm(() =>
            wasmKernel(tf.Multiply, { a: dy, b: wasmKernel(tf.Step, { x }, { alpha: 0 }) }),
          ),
        },
        { name: "archc, pool", run: ours("reluGrad", dy, x, true) },
        { name: "archc, calling thread", run: ours("reluGrad", dy, x, false) },
      ],
    },
    {
      op: "PadV2 (-infinity, 1 pixel around, as MaxPadding2D)",
      sides: [
        {
          name: "wasm (XNNPACK)",
          run: wasm(() =>
            wasmKernel(tf.PadV2, { x }, {
              paddings: pads,
              constantValue: -Infinity,
            } as unknown as tf.NamedAttrMap),
          ),
        },
        { name: "archc, calling thread", run: wasm(() => tf.pad(x, pads, -Infinity)) },
      ],
    },
  ];
}

export async function runElementwiseBench(): Promise<void> {
  const started = await initWasmBackend({ threads: 2 });
  const rounds = Number(process.env["ARCHC_BENCH_ROUNDS"]) || 7;
  console.log(
    `backend threads ${started.threads}; load average ${os.loadavg()[0]!.toFixed(1)}; ${rounds} rounds of ${CALLS} calls each`,
  );
  const shapes = process.env["ARCHC_BENCH_FLOATS"]
    ? process.env["ARCHC_BENCH_FLOATS"].split(",").map((n) => n.split("x").map(Number))
    : [
        [4, 1024],
        [16, 1024],
        [64, 1024],
        [256, 1024],
        [32, 28, 28, 64],
        [8, 147, 147, 64],
      ];
  console.log(
    "\n| op | floats | kernel | wall ms/call | CPU ms/call (with what runs on after it) |",
  );
  console.log("| --- | ---: | --- | ---: | ---: |");
  for (const shape of shapes) {
    const x = tf.randomNormal(shape, 0, 1, "float32", 1);
    const dy = tf.randomNormal(shape, 0, 1, "float32", 2);
    const n = x.size;
    for (const { op, sides: ss } of sides(x, dy)) {
      const wall = ss.map(() => [] as number[]);
      const cpu = ss.map(() => [] as number[]);
      for (let r = 0; r < rounds; r++) {
        for (let i = 0; i < ss.length; i++) {
          const s = ss[i]!;
          s.run(); // warm
          await sleep(10);
          let w = 0;
          const c0 = process.cpuUsage();
          for (let k = 0; k < CALLS; k++) {
            const t0 = performance.now();
            s.run();
            w += performance.now() - t0;
            await sleep(3);
          }
          const c = process.cpuUsage(c0);
          wall[i]!.push(w / CALLS);
          cpu[i]!.push((c.user + c.system) / 1000 / CALLS);
        }
      }
      ss.forEach((s, i) =>
        console.log(
          `| ${op} | ${n} | ${s.name} | ${median(wall[i]!).toFixed(3)} | ${median(cpu[i]!).toFixed(3)} |`,
        ),
      );
    }
    tf.dispose([x, dy]);
  }
  console.log(`\nload average at the end ${os.loadavg()[0]!.toFixed(1)}`);
}
