import type * as tf from "@tensorflow/tfjs";
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import { SUPERVISOR_SOURCE, TASK_SOURCE, WORKER_SOURCE } from "./poolWorker.js";
import { memoryOf } from "./simd.js";

// Why: archc's own SIMD routines (simd.ts, groupedSimd.ts, ...) are modules instantiated on the
// wasm backend's memory, outside tfjs' Emscripten module, so XNNPACK's pthreadpool cannot run
// them (its workers wait on a futex inside that module and take no foreign function). Under
// the threaded build (../threads.ts) that memory is a shared WebAssembly.Memory, so a worker
// thread that instantiates the same module on it computes on the same tensors in place. This
// is that pool: threads - 1 worker_threads started once per memory and kept (no thread per
// call), the main thread working beside them; a job's tasks are claimed one at a time
// (Atomics on a small control block), so a thread the machine has descheduled only takes
// fewer. The workers are unref'd: they never keep the process alive.
//
// A job is a list of calls of exported routines, cut into tasks along a grid of splits. A task
// runs its calls in order; the caller promises that different tasks write disjoint memory. A
// split that divides a loop count leaves each output's sums in the order one thread takes, so
// pooled results are bit-identical to the unpooled ones.

/** A function that assembles a module working on the backend's memory (plain or shared). */
export type ModuleBuild = (shared: boolean) => Uint8Array;

/** One call of the routine `fn` exported by the module `module` builds: i32 arguments only. */
export interface Call {
  readonly module: ModuleBuild;
  readonly fn: string;
  readonly args: readonly number[];
}

/**
 * One axis a job's tasks are cut along. `calls`: task i runs calls bounds[i] to bounds[i + 1]
 * (parts = bounds.length - 1). `arg`: every call runs the i-th of `parts` shares of the range in argument
 * `count` (start = floor(i * count / parts)); each move [target, step] adds start *
 * args[step] to args[target], moving an address to the share's first element.
 */
export type Split =
  | { readonly kind: "calls"; readonly bounds: readonly number[] }
  | {
      readonly kind: "arg";
      readonly parts: number;
      readonly count: number;
      readonly moves: readonly (readonly [number, number])[];
    };

/** Calls and the grid of splits that makes them tasks (product of the parts). */
export interface Job {
  readonly calls: readonly Call[];
  readonly grid: readonly Split[];
  /** The kernel the job computes, for its errors (default: the routines' names). */
  readonly kernel?: string;
}

/** Tasks a kernel cuts its work into per thread: more than one, so a descheduled thread takes fewer. */
export const TASKS_PER_THREAD = 4;

const partsOf = (s: Split): number =>
  Math.max(1, s.kind === "calls" ? s.bounds.length - 1 : s.parts);

export const taskCount = (job: Job): number =>
  job.calls.length === 0 ? 0 : job.grid.reduce((n, s) => n * partsOf(s), 1);

/** A split of `calls` calls into `parts` runs as even as whole calls allow. */
export function evenCalls(calls: number, parts: number): Split {
  const n = Math.max(1, Math.min(parts, calls));
  return {
    kind: "calls",
    bounds: Array.from({ length: n + 1 }, (_, i) => Math.floor((i * calls) / n)),
  };
}

/** The control block's words: its Int32 indices, then the claim word and the error text. */
const LAYOUT = {
  GEN: 0, // the generation: bumped (and notified) to start a job
  NTASKS: 1,
  COMPLETED: 2, // tasks done, whether or not they threw
  ERROR: 3, // 1 once a task threw; its message in the error bytes
  ERROR_LENGTH: 4,
  CONFIG: 5, // messages posted to each worker (modules, job buffers)
  SLEEP: 6, // never changes: a word to sleep on
  WORKER_TASKS: 7, // tasks the workers have run, ever (tests and benchmarks)
  DEAD: 8, // 1 once a worker has died (the supervisor writes it)
  ints: 16,
  claimByte: 64, // BigInt64: generation << 32 | next task
  errorByte: 128,
  errorBytes: 1024,
  busyByte: 1152, // per worker: 1 while it runs a task
  deadByte: 2176, // per worker: 1 once it has died
  maxWorkers: 256,
} as const;

type RunTask = (job: Int32Array, modules: readonly (readonly Function[])[], task: number) => void;
const runTask = new Function(`${TASK_SOURCE}; return runTask;`)() as RunTask;

let threadsWanted: number | undefined;
let backendThreads = 1;

/**
 * The thread count the wasm backend started with (wasmInit.ts says it here rather than this
 * module importing tfjs-backend-wasm, whose import registers the backend wherever the grouped
 * layer is loaded).
 */
export function setBackendThreads(threads: number): void {
  backendThreads = Math.max(1, Math.floor(threads));
}

/**
 * Threads archc's kernels use from now on: `undefined` (the default) is the wasm backend's own
 * count (`--threads`, ARCHC_THREADS); 1 runs every routine on the calling thread. More than one
 * needs the threaded build's shared memory, and runs on one thread without it.
 */
export function setKernelThreads(threads: number | undefined): void {
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1))
    throw new Error(`kernel threads: want a whole number >= 1, got ${threads}`);
  threadsWanted = threads;
}

/** The thread count the wasm backend (XNNPACK's pthreadpool) started with. */
export function wasmBackendThreads(): number {
  return backendThreads;
}

/** The thread count the pool is asked for (see setKernelThreads, setBackendThreads). */
export function kernelThreads(): number {
  return threadsWanted ?? backendThreads;
}

/** Threads a job on this backend runs on: kernelThreads() where its memory is shared, else 1. */
export function poolThreads(backend: tf.KernelBackend): number {
  return memoryOf(backend)?.shared ? kernelThreads() : 1;
}

/** Each module's exported routines by name, instantiated on one memory (this thread's copy). */
class Instances {
  private readonly byBuild = new Map<
    ModuleBuild,
    { id: number; fns: Function[]; names: string[] }
  >();
  constructor(
    readonly memory: WebAssembly.Memory,
    readonly shared: boolean,
  ) {}

  get(build: ModuleBuild, onNew?: (m: WebAssembly.Module, id: number, names: string[]) => void) {
    let found = this.byBuild.get(build);
    if (!found) {
      const module = new WebAssembly.Module(build(this.shared) as Uint8Array<ArrayBuffer>);
      const names = WebAssembly.Module.exports(module)
        .filter((e) => e.kind === "function")
        .map((e) => e.name);
      const exports = new WebAssembly.Instance(module, { env: { memory: this.memory } }).exports;
      found = { id: this.byBuild.size, fns: names.map((n) => exports[n] as Function), names };
      this.byBuild.set(build, found);
      onNew?.(module, found.id, names);
    }
    return found;
  }

  fn(call: Call): Function {
    const found = this.get(call.module);
    const i = found.names.indexOf(call.fn);
    if (i < 0) throw new Error(`kernel pool: the module has no routine '${call.fn}'`);
    return found.fns[i]!;
  }
}

class Pool {
  readonly instances: Instances;
  /** Starts the workers and reports their deaths (poolWorker.ts' SUPERVISOR_SOURCE). */
  private readonly supervisor: Worker;
  private readonly ports: MessagePort[] = [];
  private readonly control = new SharedArrayBuffer(LAYOUT.deadByte + 4 * LAYOUT.maxWorkers);
  private readonly ctl = new Int32Array(this.control, 0, LAYOUT.ints);
  private readonly busy = new Int32Array(this.control, LAYOUT.busyByte, LAYOUT.maxWorkers);
  private readonly dead = new Int32Array(this.control, LAYOUT.deadByte, LAYOUT.maxWorkers);
  private readonly claim = new BigInt64Array(this.control, LAYOUT.claimByte, 1);
  private job = new Int32Array(new SharedArrayBuffer(4 * 4096));
  private gen = 0;

  constructor(
    memory: WebAssembly.Memory,
    readonly threads: number,
  ) {
    this.instances = new Instances(memory, true);
    const workerPorts: MessagePort[] = [];
    for (let i = 1; i < Math.min(threads, LAYOUT.maxWorkers + 1); i++) {
      const { port1, port2 } = new MessageChannel();
      port1.unref();
      this.ports.push(port1);
      workerPorts.push(port2);
    }
    this.supervisor = new Worker(SUPERVISOR_SOURCE, {
      eval: true,
      workerData: {
        memory,
        control: this.control,
        ports: workerPorts,
        layout: LAYOUT,
        source: WORKER_SOURCE,
      },
      transferList: workerPorts,
    });
    // The supervisor and its workers only end with the process (or a death it reports).
    this.supervisor.on("error", () => {});
    this.supervisor.unref();
    this.post({ job: this.job.buffer });
  }

  private post(message: object): void {
    for (const port of this.ports) port.postMessage(message);
    Atomics.add(this.ctl, LAYOUT.CONFIG, 1);
  }

  /** Encodes the job, registering on the workers any module they have not seen. */
  private encode(job: Job): Int32Array {
    let size = 2;
    const extra = (s: Split) => (s.kind === "arg" ? 2 * s.moves.length : s.bounds.length);
    for (const s of job.grid) size += 4 + extra(s);
    for (const c of job.calls) size += 3 + c.args.length;
    if (size > this.job.length) {
      let n = this.job.length;
      while (n < size) n *= 2;
      this.job = new Int32Array(new SharedArrayBuffer(4 * n));
      this.post({ job: this.job.buffer });
    }
    const out = this.job;
    out[0] = job.calls.length;
    out[1] = job.grid.length;
    let at = 2;
    for (const s of job.grid) {
      out[at++] = s.kind === "calls" ? 0 : 1;
      out[at++] = partsOf(s);
      out[at++] = s.kind === "arg" ? s.count : 0;
      out[at++] = extra(s);
      if (s.kind === "arg")
        for (const [target, step] of s.moves) {
          out[at++] = target;
          out[at++] = step;
        }
      else for (const b of s.bounds) out[at++] = b;
    }
    // Calls of one routine come in runs: look the routine up once a run.
    const register = (module: WebAssembly.Module, id: number, names: string[]) =>
      this.post({ module, id, names });
    let last: Call | undefined;
    let id = 0;
    let fn = 0;
    for (const c of job.calls) {
      if (c.module !== last?.module || c.fn !== last.fn) {
        const found = this.instances.get(c.module, register);
        fn = found.names.indexOf(c.fn);
        if (fn < 0) throw new Error(`kernel pool: the module has no routine '${c.fn}'`);
        id = found.id;
        last = c;
      }
      out[at++] = id;
      out[at++] = fn;
      out[at++] = c.args.length;
      for (const a of c.args) out[at++] = a;
    }
    return out;
  }

  run(job: Job): void {
    const tasks = taskCount(job);
    if (tasks === 0) return;
    const encoded = this.encode(job);
    const ctl = this.ctl;
    const modules: Function[][] = [];
    let last: ModuleBuild | undefined;
    for (const c of job.calls) {
      if (c.module === last) continue;
      const found = this.instances.get(c.module);
      modules[found.id] = found.fns;
      last = c.module;
    }
    Atomics.store(ctl, LAYOUT.NTASKS, tasks);
    Atomics.store(ctl, LAYOUT.COMPLETED, 0);
    Atomics.store(ctl, LAYOUT.ERROR, 0);
    this.gen = (this.gen + 1) | 0;
    const gen = BigInt.asIntN(64, BigInt(this.gen) << 32n);
    Atomics.store(this.claim, 0, gen);
    Atomics.store(ctl, LAYOUT.GEN, this.gen);
    Atomics.notify(ctl, LAYOUT.GEN);
    let mine: unknown;
    for (;;) {
      const v = Atomics.load(this.claim, 0);
      const task = Number(v - gen);
      if (task >= tasks) break;
      if (Atomics.compareExchange(this.claim, 0, v, v + 1n) !== v) continue;
      try {
        runTask(encoded, modules, task);
      } catch (e) {
        mine ??= e;
      } finally {
        Atomics.add(ctl, LAYOUT.COMPLETED, 1);
      }
    }
    // The workers' tasks write into tensors the caller frees next: wait for every one. A
    // worker that died holding a task never completes it: then wait only for the living.
    for (;;) {
      const done = Atomics.load(ctl, LAYOUT.COMPLETED);
      if (done >= tasks || (this.isDead && !this.livingBusy())) break;
      Atomics.wait(ctl, LAYOUT.COMPLETED, done, 100);
    }
    const what = job.kernel ?? [...new Set(job.calls.map((c) => c.fn))].join(", ");
    if (Atomics.load(ctl, LAYOUT.COMPLETED) < tasks)
      throw new Error(`kernel pool: ${what} did not finish: ${this.errorText()}`);
    if (mine !== undefined) throw mine;
    if (Atomics.load(ctl, LAYOUT.ERROR) !== 0)
      throw new Error(`kernel pool: a worker's task of ${what} failed: ${this.errorText()}`);
  }

  private errorText(): string {
    const n = Atomics.load(this.ctl, LAYOUT.ERROR_LENGTH);
    return new TextDecoder().decode(new Uint8Array(this.control, LAYOUT.errorByte, n).slice());
  }

  /** Whether a worker has died: the pool is then replaced before its next job. */
  get isDead(): boolean {
    return Atomics.load(this.ctl, LAYOUT.DEAD) !== 0;
  }

  private livingBusy(): boolean {
    for (let i = 0; i < this.ports.length; i++)
      if (Atomics.load(this.busy, i) !== 0 && Atomics.load(this.dead, i) === 0) return true;
    return false;
  }

  /** Tests: terminates worker `index` once it is running a task. */
  terminateWhenBusy(index: number): void {
    this.supervisor.postMessage({ terminateBusy: index });
  }

  get workerTasks(): number {
    return Atomics.load(this.ctl, LAYOUT.WORKER_TASKS);
  }

  close(): Promise<number> {
    for (const port of this.ports) port.close();
    // Terminating the supervisor ends its workers with it.
    return this.supervisor.terminate();
  }
}

const pools = new WeakMap<object, Pool>();
const mainInstances = new WeakMap<object, Instances>();

/**
 * Runs `job` on the backend's memory: on kernelThreads() threads where that memory is shared,
 * else each call in order on this thread. Returns once every task has ended; throws the first
 * error a task raised (after all have ended, so nothing still writes into the caller's tensors).
 */
export function runJob(backend: tf.KernelBackend, job: Job): void {
  const found = memoryOf(backend);
  if (!found) throw new Error("kernel pool: the active backend has no WebAssembly memory");
  const memory = found.memory as WebAssembly.Memory;
  const threads = kernelThreads();
  if (threads > 1 && found.shared && taskCount(job) > 1) {
    let pool = pools.get(memory);
    if (!pool || pool.threads !== threads || pool.isDead) {
      void pool?.close();
      pools.set(memory, (pool = new Pool(memory, threads)));
    }
    pool.run(job);
    return;
  }
  let mine = mainInstances.get(memory);
  if (!mine) mainInstances.set(memory, (mine = new Instances(memory, found.shared)));
  for (const call of job.calls) mine.fn(call)(...call.args);
}

/** The pool's threads and the tasks its workers have run so far (0 and 0 without a pool). */
export function kernelPoolStats(backend: tf.KernelBackend): {
  threads: number;
  workerTasks: number;
} {
  const found = memoryOf(backend);
  const pool = found && pools.get(found.memory);
  return pool
    ? { threads: pool.threads, workerTasks: pool.workerTasks }
    : { threads: 0, workerTasks: 0 };
}

/** Tests: terminates the pool's worker `index` once it runs a task (a worker dying mid-task). */
export function terminatePoolWorkerWhenBusy(backend: tf.KernelBackend, index: number): void {
  const found = memoryOf(backend);
  const pool = found && pools.get(found.memory);
  if (!pool) throw new Error("kernel pool: no pool on this backend yet");
  pool.terminateWhenBusy(index);
}

/** Stops the pool on this backend's memory (tests; the workers never hold the process open). */
export async function closeKernelPool(backend: tf.KernelBackend): Promise<void> {
  const found = memoryOf(backend);
  const pool = found && pools.get(found.memory);
  if (!pool) return;
  pools.delete(found.memory);
  await pool.close();
}
