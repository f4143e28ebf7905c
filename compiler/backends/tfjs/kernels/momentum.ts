import * as tf from "@tensorflow/tfjs";
import { poolThreads, runJob, TASKS_PER_THREAD, type Call, type Job } from "./pool.js";
import {
  addressOf,
  addTo,
  boundTo,
  F32,
  functionBody,
  i32Params,
  localGet,
  localSet,
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

// Why: tfjs' MomentumOptimizer updates each variable with four kernel calls (Mul, Add, Mul,
// Add: about 400 a step for mini_xception, each paying the engine's dispatch) and three
// intermediate tensors. ArchcMomentumUpdate does one variable's update in one call, on the
// kernel pool's threads, with the same float32 operations in the same order:
//
//   accumulation' = m * accumulation + gradient
//   value'        = c * accumulation' + value                        (c = -learning rate)
//   value'        = c * (gradient + accumulation' * m) + value       (Nesterov)
//
// WebAssembly SIMD has no fused multiply-add, so every product and sum rounds as tfjs' Mul
// and Add do: the result is bit-identical. The module is assembled from bytes like simd.ts':
//
//   v(value, acc, grad, valueOut, accOut, count, step, mBits, cBits)   f32x4: count vectors
//   s(...)                                                             f32: count floats
//   vn, sn: the same, Nesterov
//
// m and c come as their float32 bit patterns (the pool passes i32 arguments only); `step` is
// the bytes every address moves per count (16 or 4), which the pool's split reads to move a
// share's addresses to its first element.

export const MomentumUpdate = "ArchcMomentumUpdate";

export interface MomentumUpdateAttrs {
  momentum: number;
  learningRate: number;
  nesterov: boolean;
}

const P = { V: 0, A: 1, G: 2, VO: 3, AO: 4, COUNT: 5, STEP: 6, M: 7, C: 8 } as const;
const PARAMS = 9;

// v128.load/store with alignment 2^0 and offset 0; f32x4.splat 19, f32x4.add 228, f32x4.mul 230.
const SIMD_OPS = {
  load: [op.simd, 0x00, 0x00, 0x00],
  store: [op.simd, 0x0b, 0x00, 0x00],
  splat: [op.simd, 0x13],
  add: [op.simd, 0xe4, 0x01],
  mul: [op.simd, 0xe6, 0x01],
};
const SCALAR_OPS = {
  load: [op.f32load, 0x02, 0x00],
  store: [op.f32store, 0x02, 0x00],
  splat: [] as number[],
  add: [op.f32add],
  mul: [op.f32mul],
};
const F32_REINTERPRET_I32 = 0xbe;

function updateBody(vector: boolean, nesterov: boolean): number[] {
  const o = vector ? SIMD_OPS : SCALAR_OPS;
  const [M, C, NA] = [PARAMS, PARAMS + 1, PARAMS + 2];
  const get = localGet;
  const at = (p: number) => [...get(p), ...o.load];
  const code = [
    ...get(P.M),
    F32_REINTERPRET_I32,
    ...o.splat,
    ...localSet(M),
    ...get(P.C),
    F32_REINTERPRET_I32,
    ...o.splat,
    ...localSet(C),
    ...repeat(P.COUNT, [
      // na = m * acc + grad
      ...get(M),
      ...at(P.A),
      ...o.mul,
      ...at(P.G),
      ...o.add,
      ...localSet(NA),
      ...get(P.AO),
      ...get(NA),
      ...o.store,
      // value' = c * na + value, or c * (grad + na * m) + value
      ...get(P.VO),
      ...get(C),
      ...(nesterov ? [...at(P.G), ...get(NA), ...get(M), ...o.mul, ...o.add] : get(NA)),
      ...o.mul,
      ...at(P.V),
      ...o.add,
      ...o.store,
      ...[P.V, P.A, P.G, P.VO, P.AO].flatMap((p) => addTo(p, get(P.STEP))),
    ]),
    op.end,
  ];
  return functionBody([...uleb(1), 3, vector ? V128 : F32], code);
}

const ROUTINES = [
  ["v", true, false],
  ["s", false, false],
  ["vn", true, true],
  ["sn", false, true],
] as const;

/** The module's bytes; `shared` matches the threaded build's shared memory. */
export function momentumModule(shared: boolean): Uint8Array {
  return Uint8Array.from([
    ...WASM_HEADER,
    ...section(1, [1, ...i32Params(PARAMS)]),
    ...memoryImport(shared),
    ...section(3, [ROUTINES.length, ...ROUTINES.map(() => 0)]),
    ...section(7, [ROUTINES.length, ...ROUTINES.flatMap(([name], i) => [...str(name), 0x00, i])]),
    ...section(10, [ROUTINES.length, ...ROUTINES.flatMap(([, v, n]) => updateBody(v, n))]),
  ]);
}

/** Whether the module binds on this backend (wasm with SIMD). */
export function momentumAvailable(backend: tf.KernelBackend): boolean {
  return boundTo(backend, momentumModule, () => true) === true;
}

const bits = new Int32Array(1);
const asFloat = new Float32Array(bits.buffer);
/** A number's float32 bit pattern, as tfjs' scalar() of it stores it. */
function float32Bits(x: number): number {
  asFloat[0] = x;
  return bits[0]!;
}

/** Updates over fewer floats stay on the calling thread: waking the pool would cost more. */
const MIN_POOLED_FLOATS = 16384;

function updateKernel(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: {};
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo[] {
  const backend = args.backend as tf.KernelBackend;
  const { value, accumulation, gradient } = args.inputs as Record<
    "value" | "accumulation" | "gradient",
    tf.TensorInfo
  >;
  const attrs = args.attrs as unknown as MomentumUpdateAttrs;
  for (const t of [value, accumulation, gradient]) {
    if (t.dtype !== "float32")
      throw new Error(`${MomentumUpdate}: float32 tensors only, got ${t.dtype}`);
    if (t.shape.join() !== value.shape.join())
      throw new Error(
        `${MomentumUpdate}: value, accumulation and gradient must have one shape, got ` +
          `[${value.shape}], [${accumulation.shape}] and [${gradient.shape}]`,
      );
  }
  if (!momentumAvailable(backend))
    throw new Error(`${MomentumUpdate}: WebAssembly SIMD on the wasm backend is needed`);
  const heap = wasmHeap(backend);
  const valueOut = heap.makeOutput([...value.shape], "float32");
  const accOut = heap.makeOutput([...value.shape], "float32");
  const n = value.shape.reduce((a, b) => a * b, 1);
  const at = [value, accumulation, gradient, valueOut, accOut].map((t) => addressOf(backend, t));
  const m = float32Bits(attrs.momentum);
  const c = float32Bits(-attrs.learningRate);
  const suffix = attrs.nesterov ? "n" : "";
  const vectors = n >> 2;
  const calls: Call[] = [];
  if (vectors > 0)
    calls.push({ module: momentumModule, fn: `v${suffix}`, args: [...at, vectors, 16, m, c] });
  if (n & 3)
    calls.push({
      module: momentumModule,
      fn: `s${suffix}`,
      args: [...at.map((a) => a + 16 * vectors), n & 3, 4, m, c],
    });
  const threads = n >= MIN_POOLED_FLOATS ? poolThreads(backend) : 1;
  const job: Job =
    threads > 1
      ? {
          kernel: MomentumUpdate,
          calls,
          grid: [
            {
              kind: "arg",
              parts: TASKS_PER_THREAD * threads,
              count: P.COUNT,
              moves: [P.V, P.A, P.G, P.VO, P.AO].map((p) => [p, P.STEP] as const),
            },
          ],
        }
      : { calls, grid: [] };
  runJob(backend, job);
  return [valueOut, accOut];
}

export const momentumUpdateConfig: tf.KernelConfig = {
  kernelName: MomentumUpdate,
  backendName: "wasm",
  kernelFunc: updateKernel as unknown as tf.KernelFunc,
};

/** Whether the fused update runs on the active backend. */
export function momentumUpdateAvailable(): boolean {
  return (
    tf.getKernel(MomentumUpdate, tf.getBackend()) !== undefined && momentumAvailable(tf.backend())
  );
}

/** [value', accumulation'] of one momentum step, in one kernel call. */
export function momentumUpdate(
  value: tf.Tensor,
  accumulation: tf.Tensor,
  gradient: tf.Tensor,
  attrs: MomentumUpdateAttrs,
): [tf.Tensor, tf.Tensor] {
  return tf
    .engine()
    .runKernel(
      MomentumUpdate,
      { value, accumulation, gradient },
      attrs as unknown as tf.NamedAttrMap,
    ) as unknown as [tf.Tensor, tf.Tensor];
}
