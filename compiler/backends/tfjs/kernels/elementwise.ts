import * as tf from "@tensorflow/tfjs";
import { replacing } from "./common.js";
import {
  poolThreads,
  runJob,
  TASKS_PER_THREAD,
  wasmBackendThreads,
  type Call,
  type Job,
} from "./pool.js";
import {
  addressOf,
  addTo,
  boundTo,
  F32,
  functionBody,
  i32Params,
  localGet,
  memoryImport,
  op,
  repeat,
  section,
  str,
  uleb,
  V128,
  WASM_HEADER,
  wasmHeap,
} from "./simd.js";

// Why: at two threads tfjs-backend-wasm's Relu runs on XNNPACK's pthreadpool, whose worker,
// once woken, spins before it sleeps again: a Relu of 16,384 floats followed by 3 ms of other
// work cost 1.3 CPU ms at two threads (bench/elementwise.ts), 0.2 here; a 32x28x28x64 one and
// a sleep of 1-50 ms, 2.2-3.4 CPU ms against 0.6-1.4 at one thread. The second core is busy spinning while archc's
// own pooled kernels, which follow, want it, and under load the main thread waits for that
// worker to be scheduled before the call can return. So at two threads and more, float32 Relu
// runs here, on the calling thread. (Multiply, Add and Sub do not wake XNNPACK's pool: they
// measured as cheap as this module's passes, so they stay wasm's.)
// The ReLU gradient, tfjs' dy * cast(step(x)), becomes one pass (ArchcReluGrad) at every
// thread count: two dispatches and a full-size temporary fewer.
//
// Each routine computes what the kernels it replaces compute, to the bit:
//
//   relu(x)        i32x4.max_s(x, 0) on the float's bits, as XNNPACK's f32 vrelu does: a
//                  negative number, -0 and a NaN with the sign bit set give +0, +NaN stays.
//   reluGrad(dy,x) dy * step(x), step(x) = x if x is NaN, else 1 if x > 0, else 0 (wasm's
//                  Step: NaN keeps its payload), multiplied in that order (Multiply(dy, s):
//                  a NaN's payload follows the first NaN operand).
//
// Each routine r(a, b, out, count, step) does `count` vectors (or, in the `s` variants, floats),
// moving every address by `step` bytes (16 or 4): the pool's split moves a share's addresses
// by its start times `step`. relu ignores b.

const P = { A: 0, B: 1, OUT: 2, COUNT: 3, STEP: 4 } as const;
const PARAMS = 5;

// v128.load/store align 2^0 offset 0; f32x4.splat 0x13, i32x4.max_s 0xb8 (184), f32x4.gt 0x44,
// f32x4.ne 0x42, v128.bitselect 0x52, f32x4.mul 0xe6.
const V = {
  load: [op.simd, 0x00, 0x00, 0x00],
  store: [op.simd, 0x0b, 0x00, 0x00],
  zero: [op.simd, 0x0c, ...Array<number>(16).fill(0)],
  one: [op.f32const, 0x00, 0x00, 0x80, 0x3f, op.simd, 0x13],
  maxS: [op.simd, 0xb8, 0x01],
  gt: [op.simd, 0x44],
  ne: [op.simd, 0x42],
  mul: [op.simd, 0xe6, 0x01],
  bitselect: [op.simd, 0x52],
};
// The scalar tails: i32.load 0x28 / i32.store 0x36 (align 2^2), i32.gt_s 0x4a, f32.ne 0x5c;
// select picks its first operand where the condition is non-zero.
const S = {
  load: [op.f32load, 0x02, 0x00],
  store: [op.f32store, 0x02, 0x00],
  loadI: [0x28, 0x02, 0x00],
  storeI: [0x36, 0x02, 0x00],
  zeroF: [op.f32const, 0, 0, 0, 0],
  one: [op.f32const, 0x00, 0x00, 0x80, 0x3f],
  mul: [op.f32mul],
};

export type Kind = "relu" | "reluGrad";

/** out = f(a, b) for one vector (or float), the values on the stack in `out`'s store order. */
function compute(kind: Kind, vector: boolean, t: number): number[] {
  const get = localGet;
  if (vector) {
    const at = (p: number) => [...get(p), ...V.load];
    switch (kind) {
      case "relu":
        return [...at(P.A), ...V.zero, ...V.maxS];
      case "reluGrad":
        // dy * bitselect(x, bitselect(1, 0, x > 0), x != x); t holds x.
        return [
          ...at(P.A),
          ...at(P.B),
          op.set,
          t,
          ...get(t),
          ...V.one,
          ...V.zero,
          ...get(t),
          ...V.zero,
          ...V.gt,
          ...V.bitselect,
          ...get(t),
          ...get(t),
          ...V.ne,
          ...V.bitselect,
          ...V.mul,
        ];
    }
  }
  const at = (p: number) => [...get(p), ...S.load];
  switch (kind) {
    case "relu":
      // bits > 0 (signed) ? bits : 0
      return [
        ...get(P.A),
        ...S.loadI,
        op.tee,
        t,
        op.i32const,
        0,
        ...get(t),
        op.i32const,
        0,
        0x4a,
        op.select,
      ];
    case "reluGrad":
      return [
        ...at(P.A),
        ...at(P.B),
        op.set,
        t,
        ...get(t),
        ...S.one,
        ...S.zeroF,
        ...get(t),
        ...S.zeroF,
        op.f32gt,
        op.select,
        ...get(t),
        ...get(t),
        0x5c,
        op.select,
        ...S.mul,
      ];
  }
}

function routineBody(kind: Kind, vector: boolean): number[] {
  const t = PARAMS; // one local: x (reluGrad) or the bits (scalar relu)
  const localType = vector ? V128 : kind === "relu" ? 0x7f : F32;
  const store = vector ? V.store : kind === "relu" ? S.storeI : S.store;
  const code = [
    ...repeat(P.COUNT, [
      ...localGet(P.OUT),
      ...compute(kind, vector, t),
      ...store,
      ...[P.A, P.B, P.OUT].flatMap((p) => addTo(p, localGet(P.STEP))),
    ]),
    op.end,
  ];
  return functionBody([...uleb(1), 1, localType], code);
}

const KINDS: readonly Kind[] = ["relu", "reluGrad"];
const ROUTINES = KINDS.flatMap((kind) => [
  { name: kind, kind, vector: true },
  { name: `${kind}s`, kind, vector: false },
]);

/** The module's bytes; `shared` matches the threaded build's shared memory. */
export function elementwiseModule(shared: boolean): Uint8Array {
  return Uint8Array.from([
    ...WASM_HEADER,
    ...section(1, [1, ...i32Params(PARAMS)]),
    ...memoryImport(shared),
    ...section(3, [ROUTINES.length, ...ROUTINES.map(() => 0)]),
    ...section(7, [ROUTINES.length, ...ROUTINES.flatMap((r, i) => [...str(r.name), 0x00, i])]),
    ...section(10, [ROUTINES.length, ...ROUTINES.flatMap((r) => routineBody(r.kind, r.vector))]),
  ]);
}

/** Whether the module binds on this backend (wasm with SIMD). */
export function elementwiseAvailable(backend: tf.KernelBackend): boolean {
  return boundTo(backend, elementwiseModule, () => true) === true;
}

/** out = kind(a, b) over n floats, on the pool when `pooled`. */
function run(
  backend: tf.KernelBackend,
  kind: Kind,
  a: tf.TensorInfo,
  b: tf.TensorInfo | undefined,
  out: tf.TensorInfo,
  n: number,
  pooled: boolean,
): void {
  const at = [a, b ?? a, out].map((t) => addressOf(backend, t));
  const vectors = n >> 2;
  const calls: Call[] = [];
  if (vectors > 0) calls.push({ module: elementwiseModule, fn: kind, args: [...at, vectors, 16] });
  if (n & 3)
    calls.push({
      module: elementwiseModule,
      fn: `${kind}s`,
      args: [...at.map((p) => p + 16 * vectors), n & 3, 4],
    });
  const threads = pooled ? poolThreads(backend) : 1;
  const job: Job =
    threads > 1
      ? {
          kernel: kind,
          // The tail call is cut too: a share of its 1-3 floats is empty or whole.
          calls,
          grid: [
            {
              kind: "arg",
              parts: TASKS_PER_THREAD * threads,
              count: P.COUNT,
              moves: [P.A, P.B, P.OUT].map((p) => [p, P.STEP] as const),
            },
          ],
        }
      : { calls, grid: [] };
  runJob(backend, job);
}

const sizeOf = (t: tf.TensorInfo): number => t.shape.reduce((x, y) => x * y, 1);

/**
 * relu(x) or reluGrad(dy = a, x = b) into a new float32 tensor, on the kernel pool when
 * `pooled` (and it has more than one thread), else on the calling thread. The kernels below
 * pass false: cut into ranges on the pool these memory-bound passes measured slower than on
 * the calling thread at every size from 4,096 to 11 million floats (bench/elementwise.ts,
 * docs/PERFORMANCE.md, load average 7-8); the bench keeps the comparison for a quiet machine.
 */
export function elementwise(
  backend: tf.KernelBackend,
  kind: Kind,
  a: tf.TensorInfo,
  b: tf.TensorInfo | undefined,
  pooled: boolean,
): tf.TensorInfo {
  const out = wasmHeap(backend).makeOutput([...a.shape], "float32");
  const n = sizeOf(a);
  if (n > 0) run(backend, kind, a, b, out, n, pooled);
  return out;
}

/**
 * Relu of float32 tensors where the backend runs XNNPACK on more than one thread: there
 * wasm's kernel wakes XNNPACK's pool, whose worker then spins (about 1.3 CPU ms a call
 * even at 4,096 floats, against 0.2 here). On one thread, and for other dtypes, wasm's own
 * kernel.
 */
export function reluReplacement(theirs: tf.KernelConfig): tf.KernelConfig {
  return replacing(theirs, (args) => {
    const backend = args.backend as tf.KernelBackend;
    const { x } = args.inputs as unknown as { x: tf.TensorInfo };
    if (x.dtype !== "float32" || wasmBackendThreads() < 2 || !elementwiseAvailable(backend))
      return theirs.kernelFunc(args);
    return elementwise(backend, "relu", x, undefined, false);
  });
}

export const ReluGrad = "ArchcReluGrad";

/** dy * step(x) in one pass (inputs dy, x: float32, one shape). */
function reluGradKernel(args: { inputs: tf.NamedTensorInfoMap; backend: {} }): tf.TensorInfo {
  const backend = args.backend as tf.KernelBackend;
  const { dy, x } = args.inputs as Record<"dy" | "x", tf.TensorInfo>;
  if (dy.dtype !== "float32" || x.dtype !== "float32" || dy.shape.join() !== x.shape.join())
    throw new Error(
      `${ReluGrad}: float32 dy and x of one shape, got ${dy.dtype} [${dy.shape}] and ${x.dtype} [${x.shape}]`,
    );
  if (!elementwiseAvailable(backend))
    throw new Error(`${ReluGrad}: WebAssembly SIMD on the wasm backend is needed`);
  return elementwise(backend, "reluGrad", dy, x, false);
}

export const reluGradKernelConfig: tf.KernelConfig = {
  kernelName: ReluGrad,
  backendName: "wasm",
  kernelFunc: reluGradKernel as unknown as tf.KernelFunc,
};

/** tfjs' own Relu gradient, kept for other backends and dtypes. */
let original: tf.GradConfig | undefined;

export function originalReluGradient(): tf.GradConfig | undefined {
  return original;
}

/**
 * Relu's gradient: ArchcReluGrad where the active backend has it and both are float32 of one
 * shape, else tfjs' composition (gradients are registered for every backend at once).
 */
export const reluGradConfig: tf.GradConfig = {
  kernelName: tf.Relu,
  inputsToSave: ["x"],
  gradFunc: (dy, saved, attrs) => {
    const dyT = dy as tf.Tensor;
    const [x] = saved as [tf.Tensor];
    const fused =
      tf.getBackend() === "wasm" &&
      tf.getKernel(ReluGrad, "wasm") !== undefined &&
      dyT.dtype === "float32" &&
      x.dtype === "float32" &&
      dyT.shape.join() === x.shape.join() &&
      elementwiseAvailable(tf.backend());
    if (!fused && original) return original.gradFunc(dy, saved, attrs);
    if (!fused) return { x: () => tf.mul(dyT, tf.cast(tf.step(x), "float32")) };
    return { x: () => tf.engine().runKernel(ReluGrad, { dy: dyT, x }) as tf.Tensor };
  },
};

/** Puts this gradient in place of tfjs' own; idempotent. */
export function registerReluGradient(): void {
  const current = tf.getGradient(tf.Relu);
  if (current === reluGradConfig) return;
  original ??= current;
  tf.registerGradient(reluGradConfig);
}
